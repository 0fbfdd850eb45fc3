package client_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/futurecalls/futurecalls/sdk/client"
)

func TestNewRefusesWhatIsNotAnHTTPURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://host", "http://", "://x"} {
		if _, err := client.New(u); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

// The client keeps a base path (a host behind a proxy prefix) and makes an *Error of
// answers that are not the API's.
func TestBasePathAndForeignErrors(t *testing.T) {
	t.Parallel()
	var gotPath, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth = r.URL.Path, r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL+"/futurecalls/", client.WithToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(context.Background(), 42)
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 502 || apiErr.Code != "http_502" || apiErr.Message != "<html>bad gateway</html>" {
		t.Errorf("error = %#v", err)
	}
	if gotPath != "/futurecalls/v1/calls/42" || gotAuth != "Bearer tok" {
		t.Errorf("request to %s with %q", gotPath, gotAuth)
	}
}

// Every error code constant has the type Code, so that a program switching on
// Error.Code gets them all, and a misspelt string does not compile. In a const block a
// value written out again drops the type of the first line: this reads the source.
func TestEveryCodeConstantIsACode(t *testing.T) {
	t.Parallel()
	file, err := parser.ParseFile(token.NewFileSet(), "types.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := 0
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			v := spec.(*ast.ValueSpec)
			for _, name := range v.Names {
				if !strings.HasPrefix(name.Name, "Code") {
					continue
				}
				codes++
				if typ, ok := v.Type.(*ast.Ident); !ok || typ.Name != "Code" {
					t.Errorf("%s is not declared as a Code", name.Name)
				}
			}
		}
	}
	if codes == 0 {
		t.Error("no Code constants found in types.go")
	}
}
