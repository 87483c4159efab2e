package doccheck

import (
	"fmt"
	"regexp"
	"strings"
)

// Snippet is one ```go block of a markdown file.
type Snippet struct {
	// File is the markdown file's name, as errors report it.
	File string
	// Line is the markdown line of the block's first line of code.
	Line int
	// Lines are the block's lines, without the fence's indentation. A
	// line of only "…" (code left out) is empty here, so that the rest
	// keeps its line numbers.
	Lines []string
	// NotCompiled is the reason given by a `<!-- not compiled: reason -->`
	// comment right before the block; the block is not checked when set.
	NotCompiled string
}

// notCompiled matches the opt-out comment: the last non-blank line before
// a block that is deliberately not Go a compiler accepts.
var notCompiled = regexp.MustCompile(`^<!--\s*not compiled:\s*(.*?)\s*-->$`)

// Extract returns the ```go blocks of markdown text md, read from file.
// It fails on a block that never ends, on an opt-out comment without a
// reason, and on one that no ```go block follows.
func Extract(file string, md []byte) ([]Snippet, error) {
	var (
		snippets []Snippet
		cur      *Snippet // the open ```go block
		indent   string   // its fence's indentation
		optOut   string   // the reason of the opt-out comment just read
		optLine  int      // its line
		inOther  bool     // inside a block of another language
	)
	for i, line := range strings.Split(string(md), "\n") {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		switch {
		case cur != nil && trimmed == "```":
			snippets = append(snippets, *cur)
			cur = nil
		case cur != nil:
			code := strings.TrimPrefix(line, indent)
			if strings.TrimSpace(code) == "…" {
				code = ""
			}
			cur.Lines = append(cur.Lines, code)
		case inOther:
			inOther = trimmed != "```"
		case trimmed == "```go":
			indent = line[:strings.Index(line, "`")]
			cur = &Snippet{File: file, Line: n + 1, NotCompiled: optOut}
			optOut, optLine = "", 0
		case trimmed == "":
		default:
			if m := notCompiled.FindStringSubmatch(trimmed); m != nil {
				if m[1] == "" {
					return nil, fmt.Errorf("%s:%d: a %q comment needs a reason", file, n, "not compiled")
				}
				optOut, optLine = m[1], n
				continue
			}
			if optLine != 0 {
				return nil, fmt.Errorf("%s:%d: %q comes before no ```go block", file, optLine, "not compiled")
			}
			inOther = strings.HasPrefix(trimmed, "```")
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: the ```go block never ends", file, cur.Line-1)
	}
	if optLine != 0 {
		return nil, fmt.Errorf("%s:%d: %q comes before no ```go block", file, optLine, "not compiled")
	}
	return snippets, nil
}
