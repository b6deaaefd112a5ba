package dockersave

import "fmt"

// lookup finds the file a path read from the archive's metadata names,
// following links. what says what the path is for, in error messages.
func (s *session) lookup(p, what string) (*entry, error) {
	name, err := cleanName(p, s.lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	seen := make(map[string]bool)
	for {
		e := s.files[name]
		switch {
		case e == nil && name != p:
			return nil, errorf(ErrInvalidArchive, "%s %q (through links, %q) is not in the stream", what, p, name)
		case e == nil:
			return nil, errorf(ErrInvalidArchive, "%s %q is not in the stream", what, p)
		case e.kind != kindLink:
			return e, nil
		case seen[name] || len(seen) == s.lim.linkHops:
			return nil, errorf(ErrInvalidArchive, "%s %q: link loop at %q", what, p, name)
		}
		seen[name] = true
		name = e.link
	}
}

// lookupJSON finds a JSON document the archive's metadata names.
func (s *session) lookupJSON(p, what string) (*entry, error) {
	e, err := s.lookup(p, what)
	if err != nil {
		return nil, err
	}
	switch {
	case e.bigJSON:
		return nil, errorf(ErrLimit, "%s %q is %d bytes, more than the limit of %d", what, p, e.size, s.lim.json)
	case e.kind != kindJSON:
		return nil, errorf(ErrInvalidArchive, "%s %q is not a JSON document", what, p)
	}
	return e, nil
}
