// Package codelayout checks where Go's linker placed a package's
// functions, for the tests that keep an event path's functions in
// consecutive code (tcp/conn_path.go says why).
package codelayout

import (
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// step is how far apart Contiguous looks at the code between the
// functions: less than any function's alignment (32 bytes on amd64, 16
// on arm64), so that no function between them is missed.
const step = 8

// Contiguous fails t unless fns, given as method expressions or
// functions, lie next to each other in the binary: every function whose
// code starts between the lowest and the highest of them is one of them,
// or a closure or wrapper the compiler made inside one ("….func1",
// "….deferwrap1").
func Contiguous(t testing.TB, fns ...any) {
	t.Helper()
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
	inList := func(name string) bool {
		for n := name; ; {
			if listed[n] {
				return true
			}
			i := strings.LastIndexByte(n, '.')
			if i < 0 || !strings.HasPrefix(n[i+1:], "func") && !strings.Contains(n[i+1:], "wrap") {
				return false
			}
			n = n[:i]
		}
	}
	for pc := lo; pc <= hi; pc += step {
		f := runtime.FuncForPC(pc)
		if f == nil {
			continue // padding between functions
		}
		if name := outer(f.Entry()); !inList(name) {
			t.Errorf("codelayout: %s lies between the listed functions (%#x..%#x); the linker places a package's functions in the order of its files: move it out of the listed functions' files, or list it", name, lo, hi)
			pc = f.Entry() + step
			for g := runtime.FuncForPC(pc); g != nil && g.Entry() == f.Entry(); g = runtime.FuncForPC(pc) {
				pc += step
			}
			pc -= step
		}
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
