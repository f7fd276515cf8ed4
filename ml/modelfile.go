package ml

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// ModelFormatVersion is the version of the model file format WriteModel
// writes and the only one ReadModel reads.
const ModelFormatVersion = 1

const (
	modelMagic     = "MYRM"
	maxHeaderBytes = 16 << 20
)

// modelHeader is the JSON part of a model file: everything but the
// weight values, readable by any tool that can read JSON.
type modelHeader struct {
	Format     string        `json:"format"`
	Version    int           `json:"version"`
	Backend    string        `json:"backend"`
	Spec       Spec          `json:"spec"`
	Classes    []string      `json:"classes"`
	Preprocess Preprocess    `json:"preprocess"`
	Weights    []weightEntry `json:"weights"`
}

type weightEntry struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// WriteModel writes m as a self-describing file:
//
//	"MYRM"                 magic
//	uint8                  format version (1)
//	uint32 little-endian   length of the JSON header
//	JSON header            format, version, backend, spec, classes,
//	                       preprocess, and the name and shape of every tensor
//	weights                as EncodeWeights writes them
func WriteModel(w io.Writer, m *Model) error {
	if err := m.Check(); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	h := modelHeader{Format: "myriad-model", Version: ModelFormatVersion, Backend: m.Backend,
		Spec: m.Spec, Classes: m.Classes, Preprocess: m.Preprocess}
	for _, p := range m.Weights {
		h.Weights = append(h.Weights, weightEntry{Name: p.Name, Shape: p.Tensor.Shape})
	}
	js, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(modelMagic)
	buf.WriteByte(ModelFormatVersion)
	buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(js))))
	buf.Write(js)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if err := EncodeWeights(w, m.Weights); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}

// ReadModel reads a file WriteModel wrote and checks it: the weights must
// be those the header lists and fit the spec's Layout.
func ReadModel(r io.Reader) (*Model, error) {
	var fixed [9]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrModelFile, err)
	}
	if string(fixed[:4]) != modelMagic {
		return nil, fmt.Errorf("%w: missing magic %q (not a model file)", ErrModelFile, modelMagic)
	}
	if fixed[4] != ModelFormatVersion {
		return nil, fmt.Errorf("%w: format version %d (this build reads %d)", ErrModelFile, fixed[4], ModelFormatVersion)
	}
	n := binary.LittleEndian.Uint32(fixed[5:])
	if n > maxHeaderBytes {
		return nil, fmt.Errorf("%w: header of %d bytes (limit %d)", ErrModelFile, n, maxHeaderBytes)
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(r, js); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrModelFile, err)
	}
	var h modelHeader
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrModelFile, err)
	}
	if h.Format != "myriad-model" || h.Version != ModelFormatVersion {
		return nil, fmt.Errorf("%w: header says format %q version %d", ErrModelFile, h.Format, h.Version)
	}
	w, err := DecodeWeights(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModelFile, err)
	}
	if len(w) != len(h.Weights) {
		return nil, fmt.Errorf("%w: header lists %d tensors, file holds %d", ErrModelFile, len(h.Weights), len(w))
	}
	for i, e := range h.Weights {
		if e.Name != w[i].Name || !slices.Equal(e.Shape, w[i].Tensor.Shape) {
			return nil, fmt.Errorf("%w: tensor %d is %s %v, header says %s %v", ErrModelFile, i, w[i].Name, w[i].Tensor.Shape, e.Name, e.Shape)
		}
	}
	m := &Model{Backend: h.Backend, Spec: h.Spec, Classes: h.Classes, Preprocess: h.Preprocess, Weights: w}
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrModelFile, err)
	}
	return m, nil
}
