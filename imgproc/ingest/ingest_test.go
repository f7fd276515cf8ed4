package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/imgproc/ingest"
)

func write(t *testing.T, path string, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ids(items []imgproc.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID+"="+it.Label)
	}
	return out
}

func reasons(sk []ingest.Skipped) string {
	var out []string
	for _, s := range sk {
		out = append(out, s.Source+": "+s.Reason)
	}
	return strings.Join(out, "\n")
}

func TestFolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, outside := t.TempDir(), t.TempDir()
	write(t, filepath.Join(dir, "cat", "1.jpg"), "cat one")
	write(t, filepath.Join(dir, "cat", "nested", "2.PNG"), "cat two")
	write(t, filepath.Join(dir, "dog", "1.jpg"), "dog one")
	write(t, filepath.Join(dir, "dog", "notes.txt"), "ignored: not an image extension")
	write(t, filepath.Join(dir, "dog", ".hidden.jpg"), "ignored: hidden")
	write(t, filepath.Join(dir, ".cache", "x.jpg"), "ignored: hidden folder")
	write(t, filepath.Join(dir, "stray.jpg"), "no class")
	write(t, filepath.Join(outside, "secret.jpg"), "outside the root")
	os.Symlink(filepath.Join(outside, "secret.jpg"), filepath.Join(dir, "dog", "escape.jpg"))
	os.Symlink("../cat/1.jpg", filepath.Join(dir, "dog", "inside.jpg"))
	os.Symlink(outside, filepath.Join(dir, "linkdir"))
	os.Symlink("../cat", filepath.Join(dir, "dog", "catlink.jpg"))

	s := blob.NewMem()
	res, err := ingest.Folder(ctx, s, dir, ingest.FolderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cat/1.jpg=cat", "cat/nested/2.PNG=cat", "dog/1.jpg=dog", "dog/inside.jpg=dog"}
	if got := ids(res.Items); !slices.Equal(got, want) {
		t.Fatalf("items %v, want %v\nskipped:\n%s", got, want, reasons(res.Skipped))
	}
	if !slices.Equal(res.Classes, []string{"cat", "dog"}) {
		t.Errorf("classes %v", res.Classes)
	}
	for _, it := range res.Items {
		b, err := blob.Get(ctx, s, it.Blob, 0)
		if err != nil {
			t.Fatal(err)
		}
		if it.ID == "dog/inside.jpg" && string(b) != "cat one" || it.ID == "cat/1.jpg" && string(b) != "cat one" {
			t.Errorf("%s holds %q", it.ID, b)
		}
	}
	got := reasons(res.Skipped)
	for _, w := range []string{
		"stray.jpg: file is not inside a class folder",
		"dog/escape.jpg: dog/escape.jpg leads outside the ingest root",
		"dog/catlink.jpg: symbolic link to a folder is not followed",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("skipped list lacks %q; have:\n%s", w, got)
		}
	}
	if strings.Contains(got, "secret") || s.Len() != 3 {
		t.Errorf("store holds %d blobs, want 3 (cat one, cat two, dog one)", s.Len())
	}
}

func TestFolderMissing(t *testing.T) {
	t.Parallel()
	if _, err := ingest.Folder(context.Background(), blob.NewMem(), filepath.Join(t.TempDir(), "nope"), ingest.FolderOptions{}); err == nil {
		t.Fatal("missing folder: no error")
	}
}

func TestManifestCSVAndJSONL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, outside := t.TempDir(), t.TempDir()
	s := blob.NewMem()
	known, _ := blob.PutBytes(ctx, s, []byte("already stored"))
	write(t, filepath.Join(dir, "img", "a.png"), "a")
	write(t, filepath.Join(dir, "img", "b.png"), "b")
	write(t, filepath.Join(outside, "x.png"), "outside")
	os.Symlink(filepath.Join(outside, "x.png"), filepath.Join(dir, "img", "link.png"))
	missing := blob.Sum([]byte("never stored"))

	csvText := "path,label,blob,id\n" +
		"img/a.png,cat,,\n" + // line 2
		"img/b.png,dog,,b1\n" +
		",cat," + string(known) + ",k\n" +
		"../outside/x.png,cat,,\n" + // line 5
		"/etc/passwd,cat,,\n" +
		"img/link.png,cat,,\n" +
		",,,\n" +
		"img/a.png,cat,,\n" + // line 9: id img/a.png repeats
		",cat," + string(missing) + ",m\n" +
		",cat,sha256:zz,z\n" +
		"img/none.png,cat,,\n" +
		"img/b.png,too,many,fields,here\n"
	write(t, filepath.Join(dir, "m.csv"), csvText)
	res, err := ingest.Manifest(ctx, s, filepath.Join(dir, "m.csv"), ingest.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"img/a.png=cat", "b1=dog", "k=cat"}
	if got := ids(res.Items); !slices.Equal(got, want) {
		t.Fatalf("items %v, want %v\nskipped:\n%s", got, want, reasons(res.Skipped))
	}
	if res.Items[2].Blob != known {
		t.Errorf("blob row got ref %s, want %s", res.Items[2].Blob, known)
	}
	got := reasons(res.Skipped)
	for _, w := range []string{
		`m.csv:5: path "../outside/x.png" leaves the manifest's folder`,
		`m.csv:6: path "/etc/passwd" leaves the manifest's folder`,
		"m.csv:7: img/link.png leads outside the ingest root",
		"m.csv:8: neither path nor blob given",
		`m.csv:9: id "img/a.png" already used on line 2`,
		"m.csv:10: blob: not found",
		"m.csv:11: blob: invalid ref",
		"m.csv:12: img/none.png does not exist",
		"m.csv:13: 5 fields, header has 4",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("skipped list lacks %q; have:\n%s", w, got)
		}
	}

	jsonl := `{"path": "img/a.png", "label": "cat"}
{"blob": "` + string(known) + `", "id": "k", "label": "bird"}

{"path": "img/b.png", "lable": "typo"}
not json
`
	write(t, filepath.Join(dir, "m.jsonl"), jsonl)
	res, err = ingest.Manifest(ctx, s, filepath.Join(dir, "m.jsonl"), ingest.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(res.Items); !slices.Equal(got, []string{"img/a.png=cat", "k=bird"}) {
		t.Fatalf("jsonl items %v", got)
	}
	got = reasons(res.Skipped)
	if !strings.Contains(got, `m.jsonl:4: invalid JSON: json: unknown field "lable"`) || !strings.Contains(got, "m.jsonl:5: invalid JSON") {
		t.Errorf("jsonl skipped:\n%s", got)
	}
	if !slices.Equal(res.Classes, []string{"bird", "cat"}) {
		t.Errorf("classes %v", res.Classes)
	}
}

func TestManifestBadHeader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"unknown.csv": "path,lable\na.png,cat\n",
		"nopath.csv":  "id,label\nx,cat\n",
		"empty.csv":   "",
		"m.txt":       "path\n",
	} {
		write(t, filepath.Join(dir, name), text)
		_, err := ingest.ListManifest(context.Background(), filepath.Join(dir, name), ingest.ManifestOptions{})
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		t.Logf("%s: %v", name, err)
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %q does not name the manifest", name, err)
		}
	}
}
