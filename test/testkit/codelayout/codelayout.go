// Package codelayout checks where Go's linker placed a package's
// functions, for the tests that keep an event path's functions in
// consecutive code (tcp/conn_path.go says why).
package codelayout

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// step is how far apart Contiguous looks at the code between the
// functions: no more than the alignment of a function's entry on any of
// Go's architectures (32 bytes on amd64, 16 on arm64, 4 on the smallest),
// so that no function between them is missed.
const step = 4

// maxReported bounds the functions between the listed ones a failure
// names.
const maxReported = 5

// made matches the suffix of a function the compiler made inside another:
// a closure ("….func1", "….func1.2"), a range-over-func body
// ("…-range1"), a defer or go wrapper ("….deferwrap1", "….gowrap1").
var made = regexp.MustCompile(`(\.func\d+|-range\d+|\.deferwrap\d+|\.gowrap\d+|\.\d+)$`)

// Contiguous fails t unless fns are exactly the functions and methods
// declared in files (paths relative to the test's package directory),
// and lie next to each other in the binary: every function whose code
// starts between the lowest and the highest of them is one of them, or
// one the compiler made inside one (a closure, a defer wrapper). fns are
// method expressions or functions of the package under test.
func Contiguous(t testing.TB, files []string, fns ...any) {
	t.Helper()
	if len(fns) == 0 {
		t.Fatal("codelayout: no functions listed")
	}
	listed := make(map[string]bool, len(fns))
	lo, hi := ^uintptr(0), uintptr(0)
	for _, fn := range fns {
		v := reflect.ValueOf(fn)
		if v.Kind() != reflect.Func {
			t.Fatalf("codelayout: %T is not a function", fn)
		}
		pc := v.Pointer()
		name := outer(pc)
		if strings.HasSuffix(name, "-fm") {
			t.Fatalf("codelayout: %s is a method value; give the method expression", name)
		}
		listed[name] = true
		lo, hi = min(lo, pc), max(hi, pc)
	}
	pkg := pkgPath(outer(lo))
	declared, err := declaredIn(files)
	if err != nil {
		t.Fatalf("codelayout: %v", err)
	}
	for name, file := range declared {
		if !listed[pkg+"."+name] {
			t.Errorf("codelayout: %s is declared in %s but not listed: list it, or move it to another file if it is not on the path", name, file)
		}
	}
	for name := range listed {
		if _, ok := declared[strings.TrimPrefix(name, pkg+".")]; !ok {
			t.Errorf("codelayout: %s is listed but not declared in %s: move it back, or take it off the list", name, strings.Join(files, ", "))
		}
	}
	if t.Failed() {
		return // the layout check would only repeat the mismatch
	}
	inList := func(name string) bool {
		for {
			if listed[name] {
				return true
			}
			loc := made.FindStringIndex(name)
			if loc == nil {
				return false
			}
			name = name[:loc[0]]
		}
	}
	reported := 0
	for pc := lo; pc <= hi; pc += step {
		f := runtime.FuncForPC(pc)
		if f == nil {
			continue // padding between functions
		}
		entry := f.Entry()
		if name := outer(entry); !inList(name) {
			if reported++; reported <= maxReported {
				t.Errorf("codelayout: %s lies between the listed functions (%#x..%#x): the linker places a package's functions in the order of its files, and of their declarations", name, lo, hi)
			}
			for g := f; g != nil && g.Entry() == entry; g = runtime.FuncForPC(pc) {
				pc += step
			}
			pc -= step
		}
	}
	if reported > maxReported {
		t.Errorf("codelayout: and %d more", reported-maxReported)
	}
}

// outer names the function whose code starts at entry. (FuncForPC names
// the innermost of the functions inlined at a pc; at an entry nothing is
// inlined yet.)
func outer(entry uintptr) string {
	if f := runtime.FuncForPC(entry); f != nil {
		return f.Name()
	}
	return ""
}

// pkgPath is the package path in a function's symbol name:
// "example.com/m/tcp" of "example.com/m/tcp.(*conn).read".
func pkgPath(name string) string {
	slash := strings.LastIndexByte(name, '/')
	if i := strings.IndexByte(name[slash+1:], '.'); i >= 0 {
		return name[:slash+1+i]
	}
	return name
}

// declaredIn maps the functions and methods declared in files, named as
// in a symbol without its package ("F", "T.M", "(*T).M"), to their file.
func declaredIn(files []string) (map[string]string, error) {
	out := make(map[string]string)
	fset := token.NewFileSet()
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			out[symbolName(fd)] = file
		}
	}
	return out, nil
}

// symbolName names fd as the linker does, without the package.
func symbolName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	typ, star := fd.Recv.List[0].Type, false
	if s, ok := typ.(*ast.StarExpr); ok {
		typ, star = s.X, true
	}
	switch g := typ.(type) {
	case *ast.IndexExpr:
		typ = g.X
	case *ast.IndexListExpr:
		typ = g.X
	}
	recv := "?"
	if id, ok := typ.(*ast.Ident); ok {
		recv = id.Name
	}
	if star {
		return "(*" + recv + ")." + fd.Name.Name
	}
	return recv + "." + fd.Name.Name
}
