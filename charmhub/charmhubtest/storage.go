package charmhubtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
)

// Upload is what storage received in one upload.
type Upload struct {
	ID       string
	Username string
	// Filename and PartContentType are those of the "binary" part.
	Filename, PartContentType string
	Size                      int64
	SHA256                    string
	Content                   []byte // nil when over the content limit
	// ContentLength is the request's, -1 when it was sent chunked.
	ContentLength int64
	// Used tells whether a revision request used it.
	Used bool

	digests digests
}

type digests struct{ sha384, sha512, sha3384 string }

func (s *Server) storageUpload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	user, ok := s.user(w, r)
	s.mu.Unlock()
	if !ok {
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid-request", "The body must be multipart/form-data.")
		return
	}
	up := &Upload{ID: rand.Text(), Username: user, ContentLength: r.ContentLength}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil || part.FormName() != "binary" || up.Filename != "" || part.FileName() == "" {
			writeError(w, http.StatusBadRequest, "invalid-request", "Expected one file part named \"binary\".")
			return
		}
		up.Filename, up.PartContentType = part.FileName(), part.Header.Get("Content-Type")
		if err := s.receive(up, part); err != nil {
			writeError(w, http.StatusBadRequest, "invalid-request", "Reading the upload failed.")
			return
		}
	}
	if up.Filename == "" {
		writeError(w, http.StatusBadRequest, "invalid-request", "Expected one file part named \"binary\".")
		return
	}
	s.mu.Lock()
	s.uploads[up.ID] = up
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"successful": true, "upload_id": up.ID})
}

// receive streams the content, hashing it and keeping at most the
// content limit.
func (s *Server) receive(up *Upload, content io.Reader) error {
	hs := []hash.Hash{sha256.New(), sha512.New384(), sha512.New(), sha3.New384()}
	keep := &capped{limit: s.contentLimit}
	n, err := io.Copy(io.MultiWriter(keep, hs[0], hs[1], hs[2], hs[3]), content)
	if err != nil {
		return err
	}
	sum := func(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
	up.Size, up.SHA256, up.Content = n, sum(hs[0]), keep.bytes()
	up.digests = digests{sha384: sum(hs[1]), sha512: sum(hs[2]), sha3384: sum(hs[3])}
	return nil
}

// capped keeps what is written up to a limit, and nothing once past it.
type capped struct {
	limit int64
	buf   []byte
	over  bool
}

func (c *capped) Write(p []byte) (int, error) {
	if !c.over && int64(len(c.buf)+len(p)) > c.limit {
		c.over, c.buf = true, nil
	}
	if !c.over {
		c.buf = append(c.buf, p...)
	}
	return len(p), nil
}

func (c *capped) bytes() []byte {
	if c.over {
		return nil
	}
	if c.buf == nil {
		return []byte{}
	}
	return c.buf
}
