package ml

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/myriadhq/myriad/tensor"
)

// Param is one named tensor of a network's weights. Names are stable
// across backends: "layers.N.weight" / "layers.N.bias" for hidden layer N
// of the spec and "output.weight" / "output.bias" for the output layer.
// Conv weights are [filters, in-channels, kernel, kernel]; dense weights
// are [in, out]; biases are [out].
type Param struct {
	Name   string
	Tensor *tensor.Tensor
}

// Weights are all learnable values of a network, in a fixed order. They
// are plain data: a checkpoint blob, the thing data-parallel rounds
// average, the starting point a training can be given.
type Weights []Param

// Clone returns a deep copy.
func (w Weights) Clone() Weights {
	out := make(Weights, len(w))
	for i, p := range w {
		t := *p.Tensor
		t.Shape = slices.Clone(p.Tensor.Shape)
		t.F32 = slices.Clone(p.Tensor.F32)
		t.U8 = slices.Clone(p.Tensor.U8)
		out[i] = Param{Name: p.Name, Tensor: &t}
	}
	return out
}

// NumValues returns the number of learnable values.
func (w Weights) NumValues() int {
	n := 0
	for _, p := range w {
		n += p.Tensor.Len()
	}
	return n
}

// CheckLike reports whether w has exactly the names, order, dtypes and
// shapes of ref, naming the first difference.
func (w Weights) CheckLike(ref Weights) error {
	if len(w) != len(ref) {
		return fmt.Errorf("%w: %d tensors, network has %d", ErrWeights, len(w), len(ref))
	}
	for i, p := range w {
		r := ref[i]
		if p.Name != r.Name {
			return fmt.Errorf("%w: tensor %d is %q, network expects %q", ErrWeights, i, p.Name, r.Name)
		}
		if p.Tensor == nil {
			return fmt.Errorf("%w: %s has no tensor", ErrWeights, p.Name)
		}
		if err := p.Tensor.Validate(); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrWeights, p.Name, err)
		}
		if p.Tensor.DType != tensor.Float32 {
			return fmt.Errorf("%w: %s is %v, want float32", ErrWeights, p.Name, p.Tensor.DType)
		}
		if !slices.Equal(p.Tensor.Shape, r.Tensor.Shape) {
			return fmt.Errorf("%w: %s has shape %v, network expects %v", ErrWeights, p.Name, p.Tensor.Shape, r.Tensor.Shape)
		}
	}
	return nil
}

// AverageWeights returns the mean of ws weighted by sizes (the number of
// items each was trained on): the merge step of a data-parallel round.
// Sums are taken in float64 in the order given, so the result depends
// only on the inputs. All weights must have the same layout.
func AverageWeights(ws []Weights, sizes []int) (Weights, error) {
	if len(ws) == 0 {
		return nil, fmt.Errorf("%w: average of no weights", ErrWeights)
	}
	if len(sizes) != len(ws) {
		return nil, fmt.Errorf("%w: %d weights but %d sizes", ErrWeights, len(ws), len(sizes))
	}
	total := 0
	for i, s := range sizes {
		if s < 0 {
			return nil, fmt.Errorf("%w: size %d of shard %d is negative", ErrWeights, s, i)
		}
		total += s
	}
	if total == 0 {
		return nil, fmt.Errorf("%w: all shard sizes are zero", ErrWeights)
	}
	for i, w := range ws[1:] {
		if err := w.CheckLike(ws[0]); err != nil {
			return nil, fmt.Errorf("average shard %d: %w", i+1, err)
		}
	}
	if err := ws[0].CheckLike(ws[0]); err != nil {
		return nil, fmt.Errorf("average shard 0: %w", err)
	}
	out := ws[0].Clone()
	for pi := range out {
		dst := out[pi].Tensor.F32
		acc := make([]float64, len(dst))
		for wi, w := range ws {
			f := float64(sizes[wi]) / float64(total)
			for j, v := range w[pi].Tensor.F32 {
				acc[j] += f * float64(v)
			}
		}
		for j, v := range acc {
			dst[j] = float32(v)
		}
	}
	return out, nil
}

const (
	weightsMagic   = "MYRW"
	weightsVersion = 1
	maxNameLen     = 1 << 10
	maxParams      = 1 << 16
)

// EncodeWeights writes w as: magic "MYRW", version byte, uint32 count,
// then per tensor a uint16 name length, the name, and the tensor in the
// tensor package's format (little-endian throughout).
func EncodeWeights(out io.Writer, w Weights) error {
	bw := bufio.NewWriter(out)
	hdr := []byte(weightsMagic)
	hdr = append(hdr, weightsVersion)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(w)))
	if _, err := bw.Write(hdr); err != nil {
		return fmt.Errorf("encode weights: %w", err)
	}
	for _, p := range w {
		if len(p.Name) == 0 || len(p.Name) > maxNameLen {
			return fmt.Errorf("%w: name %q must have 1..%d bytes", ErrWeights, p.Name, maxNameLen)
		}
		nb := binary.LittleEndian.AppendUint16(nil, uint16(len(p.Name)))
		if _, err := bw.Write(append(nb, p.Name...)); err != nil {
			return fmt.Errorf("encode weights: %w", err)
		}
		if err := tensor.Encode(bw, p.Tensor); err != nil {
			return fmt.Errorf("encode weights: %s: %w", p.Name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("encode weights: %w", err)
	}
	return nil
}

// DecodeWeights reads what EncodeWeights wrote.
func DecodeWeights(in io.Reader) (Weights, error) {
	var hdr [9]byte
	if _, err := io.ReadFull(in, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: weights header: %w", ErrWeights, err)
	}
	if string(hdr[:4]) != weightsMagic {
		return nil, fmt.Errorf("%w: missing magic %q", ErrWeights, weightsMagic)
	}
	if hdr[4] != weightsVersion {
		return nil, fmt.Errorf("%w: weights version %d (want %d)", ErrWeights, hdr[4], weightsVersion)
	}
	n := binary.LittleEndian.Uint32(hdr[5:])
	if n > maxParams {
		return nil, fmt.Errorf("%w: %d tensors (limit %d)", ErrWeights, n, maxParams)
	}
	w := make(Weights, 0, n)
	total := 0
	for i := range int(n) {
		var lb [2]byte
		if _, err := io.ReadFull(in, lb[:]); err != nil {
			return nil, fmt.Errorf("%w: tensor %d name: %w", ErrWeights, i, err)
		}
		l := int(binary.LittleEndian.Uint16(lb[:]))
		if l == 0 || l > maxNameLen {
			return nil, fmt.Errorf("%w: tensor %d name length %d", ErrWeights, i, l)
		}
		name := make([]byte, l)
		if _, err := io.ReadFull(in, name); err != nil {
			return nil, fmt.Errorf("%w: tensor %d name: %w", ErrWeights, i, err)
		}
		t, err := tensor.Decode(in)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrWeights, name, err)
		}
		total += t.Len()
		if total > MaxParams {
			return nil, fmt.Errorf("%w: more than %d values", ErrWeights, MaxParams)
		}
		w = append(w, Param{Name: string(name), Tensor: t})
	}
	return w, nil
}
