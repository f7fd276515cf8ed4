package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/imgproc/ingest"
)

// FuzzManifest: a CSV or JSONL manifest never panics the reader, and no
// entry it lists can leave the manifest's folder or repeat an id.
func FuzzManifest(f *testing.F) {
	for _, s := range []string{
		"id,path,label\na,cat/1.png,cat\nb,../x.png,dog\nc,/etc/passwd,x\n",
		"path,blob\nx.png,sha256-00\n,\n",
		"\ufeffpath\n\"unterminated\n",
		`{"path":"a.png","label":"cat"}` + "\n" + `{"blob":"sha256-` + strings.Repeat("a", 64) + `"}` + "\n" + `{"path":"a.png"}` + "\n",
		`{"path":"..\\..\\x"}` + "\n" + `{"nope":1}` + "\n" + "{bad\n",
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		dir := t.TempDir()
		name := "m.jsonl"
		if csv {
			name = "m.csv"
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := ingest.ListManifest(context.Background(), path, ingest.ManifestOptions{})
		if err != nil {
			return // a bad header or quoting: an error naming the line
		}
		ids := map[string]bool{}
		for _, e := range l.Entries {
			if ids[e.ID] {
				t.Fatalf("id %q listed twice", e.ID)
			}
			ids[e.ID] = true
			if e.Path != "" && (!filepath.IsLocal(filepath.FromSlash(e.Path)) || strings.HasPrefix(e.Path, "/")) {
				t.Fatalf("path %q leaves the manifest's folder", e.Path)
			}
			if e.Path == "" && e.Ref == "" {
				t.Fatalf("entry %+v names no file", e)
			}
		}
	})
}
