package test

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeGoBlocksCompile checks that every ```go block of README.md is
// an excerpt of code the compiler sees: its lines, leading and trailing
// whitespace trimmed, must appear as consecutive lines (trimmed the same
// way) in one *_test.go file of the repository or one .go file under
// examples/. The README's code then builds, and says what the examples
// (run with their // Output: by go test) do. A failure names the block's
// README line, the first line of it that no file continues with, and the
// file that came closest.
func TestReadmeGoBlocksCompile(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeGoBlocks(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		t.Fatal("README.md: no ```go block found (the check would pass vacuously)")
	}
	sources, err := compiledSources(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) == 0 {
		t.Fatal("no *_test.go or examples/ source found under " + root)
	}
	for _, b := range blocks {
		if len(b.lines) == 0 {
			t.Errorf("README.md:%d: empty ```go block", b.start)
			continue
		}
		if matched, file := longestMatch(b.lines, sources); matched < len(b.lines) {
			t.Errorf("README.md:%d: the ```go block opened at line %d is not an excerpt of a compiled file: line %d %q not found%s",
				b.lineNo[matched], b.start, b.lineNo[matched], b.lines[matched], closest(matched, file))
		}
	}
}

// docFiles are the package docs whose code blocks (the tab-indented
// lines of the package comment) are held to the README's rule. A file
// joins the list once its snippets are excerpts of its examples.
var docFiles = []string{"actors/doc.go", "tcp/doc.go", "udp/doc.go"}

// TestDocSnippetsCompile is TestReadmeGoBlocksCompile for the code blocks
// of the package comments in docFiles.
func TestDocSnippetsCompile(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	sources, err := compiledSources(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range docFiles {
		blocks, err := docCodeBlocks(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(blocks) == 0 {
			t.Errorf("%s: no code block in the package comment", name)
		}
		for _, b := range blocks {
			if matched, file := longestMatch(b.lines, sources); matched < len(b.lines) {
				t.Errorf("%s:%d: the code block at line %d is not an excerpt of a compiled file: line %d %q not found%s",
					name, b.lineNo[matched], b.start, b.lineNo[matched], b.lines[matched], closest(matched, file))
			}
		}
	}
}

// docCodeBlocks returns the code blocks of a Go file's comments: runs of
// "//\t" lines, blank "//" lines inside a run included.
func docCodeBlocks(path string) ([]goBlock, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var blocks []goBlock
	var cur *goBlock
	end := func() {
		if cur == nil {
			return
		}
		for len(cur.lines) > 0 && cur.lines[len(cur.lines)-1] == "" { // a blank comment line after the block
			cur.lines, cur.lineNo = cur.lines[:len(cur.lines)-1], cur.lineNo[:len(cur.lineNo)-1]
		}
		blocks = append(blocks, *cur)
		cur = nil
	}
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "//\t"):
			if cur == nil {
				cur = &goBlock{start: i + 1}
			}
			cur.lines = append(cur.lines, strings.TrimSpace(line[2:]))
			cur.lineNo = append(cur.lineNo, i+1)
		case cur != nil && strings.TrimSpace(line) == "//":
			cur.lines = append(cur.lines, "")
			cur.lineNo = append(cur.lineNo, i+1)
		default:
			end()
		}
	}
	end()
	return blocks, nil
}

// goBlock is one ```go block of the README: its lines, trimmed, and the
// README line number of each (1-based); start is the line of its fence.
type goBlock struct {
	start  int
	lines  []string
	lineNo []int
}

// readmeGoBlocks returns the ```go blocks of the Markdown file at path.
// Fences are lines that start with ``` (any indentation); a block left
// open at the end of the file is an error.
func readmeGoBlocks(path string) ([]goBlock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		blocks  []goBlock
		cur     *goBlock
		inOther bool // inside a fenced block of another language
		n       int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		fence := strings.HasPrefix(line, "```")
		switch {
		case cur != nil && fence:
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
			cur.lineNo = append(cur.lineNo, n)
		case inOther && fence:
			inOther = false
		case fence && strings.TrimSpace(strings.TrimPrefix(line, "```")) == "go":
			cur = &goBlock{start: n}
		case fence:
			inOther = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: ```go block never closed", path, cur.start)
	}
	return blocks, nil
}

// source is a compiled file's lines, trimmed.
type source struct {
	path  string // relative to the repository root
	lines []string
}

// compiledSources reads every *_test.go file of the repository and every
// .go file under examples/, except this file (whose text would otherwise
// vouch for itself).
func compiledSources(root string) ([]source, error) {
	self, err := filepath.Abs("readme_test.go")
	if err != nil {
		return nil, err
	}
	var out []source
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		inExamples := strings.HasPrefix(rel, "examples"+string(filepath.Separator))
		if path == self || !strings.HasSuffix(path, ".go") || (!strings.HasSuffix(path, "_test.go") && !inExamples) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines := strings.Split(string(b), "\n")
		for i := range lines {
			lines[i] = strings.TrimSpace(lines[i])
		}
		out = append(out, source{path: rel, lines: lines})
		return nil
	})
	return out, err
}

// longestMatch returns the most leading lines of want that appear as
// consecutive lines in one source, and that source's path ("" when not
// even the first line appears anywhere).
func longestMatch(want []string, sources []source) (best int, file string) {
	for _, s := range sources {
		for i := range s.lines {
			k := 0
			for k < len(want) && i+k < len(s.lines) && s.lines[i+k] == want[k] {
				k++
			}
			if k > best {
				best, file = k, s.path
				if best == len(want) {
					return best, file
				}
			}
		}
	}
	return best, file
}

// closest says where the longest partial match of a block was, if any.
func closest(matched int, file string) string {
	if file == "" {
		return ""
	}
	return fmt.Sprintf(" (closest: %d lines match in %s)", matched, file)
}
