package shell

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/term"
)

// lineReader reads one line of input at a time, without its line ending.
// It may return a last line together with io.EOF.
type lineReader interface {
	ReadLine() (string, error)
}

type plainReader struct{ r *bufio.Reader }

func (p plainReader) ReadLine() (string, error) {
	line, err := p.r.ReadString('\n')
	line = strings.TrimSuffix(line, "\n")
	return strings.TrimSuffix(line, "\r"), err
}

// termReader reads from a terminal in raw mode, with line editing and history.
type termReader struct{ t *term.Terminal }

func (r termReader) ReadLine() (string, error) {
	line, err := r.t.ReadLine()
	if errors.Is(err, term.ErrPasteIndicator) {
		err = nil
	}
	return line, err
}

type fileDescriptor interface{ Fd() uintptr }

// openInput returns the reader of In and the function that gives a terminal
// back (safe to call more than once). With Options.Interactive and a
// terminal on both In and Out, it reads through golang.org/x/term's line
// editor (history, Ctrl-D or Ctrl-C ends the session) and prints through it,
// so output never garbles the line being typed.
func (a *Adapter) openInput() (lineReader, func(), error) {
	inFile, inOK := a.in.(fileDescriptor)
	outFile, outOK := a.out.(fileDescriptor)
	if !a.interactive || !inOK || !outOK ||
		!term.IsTerminal(int(inFile.Fd())) || !term.IsTerminal(int(outFile.Fd())) {
		return plainReader{bufio.NewReader(a.in)}, func() {}, nil
	}
	inFD, outFD := int(inFile.Fd()), int(outFile.Fd())
	state, err := term.MakeRaw(inFD)
	if err != nil {
		return nil, nil, fmt.Errorf("shell: terminal: %w", err)
	}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{a.in, a.out}, a.prompt())
	if w, h, err := term.GetSize(outFD); err == nil && w > 0 && h > 0 {
		_ = t.SetSize(w, h) // only the wrapping width; the default 80 columns still works
	}
	a.writeMu.Lock()
	plainOut := a.out
	a.out, a.term = t, t
	a.writeMu.Unlock()

	var once sync.Once
	restore := func() {
		once.Do(func() {
			a.writeMu.Lock()
			defer a.writeMu.Unlock()
			a.out, a.term = plainOut, nil
			_ = term.Restore(inFD, state) // nothing better to do if the terminal is gone
			_, _ = io.WriteString(plainOut, "\n")
		})
	}
	return termReader{t}, restore, nil
}

// refreshPrompt shows the current user, room and thread in the prompt.
func (a *Adapter) refreshPrompt() {
	p := a.prompt()
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	if a.term != nil {
		a.term.SetPrompt(p)
	}
}
