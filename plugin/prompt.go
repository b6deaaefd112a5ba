package plugin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/cli/cli/streams"
	"github.com/moby/term"
)

// prompter asks questions on stderr and reads the answers from stdin,
// one line each. It reads through one buffer, so answers piped in
// together (email, password, one-time password) are all found.
type prompter struct {
	in  *streams.In
	r   *bufio.Reader
	out io.Writer
}

func newPrompter(in *streams.In, out io.Writer) *prompter {
	return &prompter{in: in, r: bufio.NewReader(in), out: out}
}

// ask prints question and returns the line answered, trimmed.
func (p *prompter) ask(ctx context.Context, question string) (string, error) {
	_, _ = io.WriteString(p.out, question)
	line, err := p.readLine(ctx)
	return strings.TrimSpace(line), err
}

// askSecret is ask without echoing the answer when stdin is a terminal.
// A stdin that is not a terminal (a pipe) is read as it is.
func (p *prompter) askSecret(ctx context.Context, question string) (string, error) {
	if !p.in.IsTerminal() {
		_, _ = io.WriteString(p.out, question)
		return p.readLine(ctx)
	}
	state, err := term.SaveState(p.in.FD())
	if err != nil {
		return "", fmt.Errorf("reading the answer without echo: %w", err)
	}
	if err := term.DisableEcho(p.in.FD(), state); err != nil {
		return "", fmt.Errorf("reading the answer without echo: %w", err)
	}
	defer func() {
		_ = term.RestoreTerminal(p.in.FD(), state)
		_, _ = io.WriteString(p.out, "\n") // the newline typed was not echoed
	}()
	_, _ = io.WriteString(p.out, question) // once echo is off: what is typed now stays hidden
	return p.readLine(ctx)
}

// readLine reads one line, without its end of line, giving up when ctx ends (Ctrl-C), so that the
// terminal is restored by the caller.
func (p *prompter) readLine(ctx context.Context) (string, error) {
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		line, err := p.r.ReadString('\n')
		if errors.Is(err, io.EOF) && line != "" {
			err = nil
		}
		ch <- answer{strings.TrimRight(line, "\r\n"), err}
	}()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case a := <-ch:
		if !p.in.IsTerminal() {
			_, _ = io.WriteString(p.out, "\n") // nothing typed ended the line
		}
		if errors.Is(a.err, io.EOF) {
			return "", errors.New("no answer: standard input ended")
		}
		return a.line, a.err
	}
}
