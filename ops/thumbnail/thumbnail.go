package thumbnail

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"sync"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/coord"
	"github.com/myriadhq/myriad/imgproc/pack"
	"github.com/myriadhq/myriad/ml"
	"github.com/myriadhq/myriad/ml/dataset"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// Op is the operator's name.
const Op = "thumbnail"

// Defaults of the params.
const (
	DefaultField = "image"
	DefaultZoom  = 4
	MaxZoom      = 16
)

// Params are a thumbnail stage's params.
type Params struct {
	// Data is the dataset the items' indexes point into: mnist or
	// fashion-mnist with a split, or a packed dataset's blob ref.
	Data Data `json:"data"`
	// IndexField holds an item's index into Data; default "index".
	IndexField string `json:"index_field,omitempty"`
	// Field is where the data: URI goes; default "image".
	Field string `json:"field,omitempty"`
	// All gives every item a picture; by default only the items whose
	// "uncertain" field is true (the ones a human stage will route to
	// people) get one.
	All bool `json:"all,omitempty"`
	// Zoom enlarges each pixel to Zoom×Zoom (nearest neighbour) so a
	// 28×28 digit is legible on a phone; default 4.
	Zoom int `json:"zoom,omitempty"`
}

// Data names a dataset as predict's params.data does.
type Data struct {
	Dataset string `json:"dataset"`
	Split   string `json:"split,omitempty"`
}

// Info describes the operator to a coordinator (its submit-time check).
func Info() coord.OpInfo { return coord.OpInfo{Name: Op, Check: Check} }

// Doc is the operator's one-line description.
const Doc = "adds a PNG data: URI of each item's image (params.data at the item's index) for the annotator app; by default only to uncertain items"

// Register adds the operator to r.
func Register(r *worker.Registry) { r.Handle(Op, newOp().run) }

// Check checks a stage's params at submit, naming the bad field.
func Check(_ *spec.Stage, s *task.Stage) []spec.ParamError {
	p, err := decode(s.Params)
	if err != nil {
		return []spec.ParamError{{Msg: err.Error()}}
	}
	if field, msg := p.check(); field != "" {
		return []spec.ParamError{{Field: field, Msg: msg}}
	}
	return nil
}

func decode(raw json.RawMessage) (*Params, error) {
	var p Params
	if len(raw) == 0 {
		return &p, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (p *Params) check() (field, msg string) {
	switch {
	case p.Data.Dataset == "":
		return "data.dataset", "missing: mnist, fashion-mnist or a packed dataset's blob ref"
	case named(p.Data.Dataset):
		if p.Data.Split != "" && p.Data.Split != "train" && p.Data.Split != "test" {
			return "data.split", fmt.Sprintf("%q (want train or test)", p.Data.Split)
		}
	default:
		if _, err := blob.ParseRef(p.Data.Dataset); err != nil {
			return "data.dataset", fmt.Sprintf("%q is neither mnist, fashion-mnist nor a blob ref: %v", p.Data.Dataset, err)
		}
	}
	if p.Zoom < 0 || p.Zoom > MaxZoom {
		return "zoom", fmt.Sprintf("%d is out of range (1..%d)", p.Zoom, MaxZoom)
	}
	return "", ""
}

func named(name string) bool { return name == "mnist" || name == "fashion-mnist" || name == "fashion" }

// op holds the datasets one worker has loaded.
type op struct {
	mu   sync.Mutex
	sets map[string]*ml.Dataset
}

func newOp() *op { return &op{sets: map[string]*ml.Dataset{}} }

func (o *op) run(ctx context.Context, t *worker.Task) ([]task.Item, error) {
	p, err := decode(t.Params)
	if err != nil {
		return nil, worker.Permanent(fmt.Errorf("stage %s: params: %w", t.Stage, err))
	}
	if field, msg := p.check(); field != "" {
		return nil, worker.Permanent(fmt.Errorf("stage %s: params.%s: %s", t.Stage, field, msg))
	}
	idxField := cmp.Or(p.IndexField, "index")
	field := cmp.Or(p.Field, DefaultField)
	zoom := p.Zoom
	if zoom == 0 {
		zoom = DefaultZoom
	}
	var d *ml.Dataset
	out := make([]task.Item, 0, len(t.Items))
	for _, it := range t.Items {
		var f map[string]json.RawMessage
		if err := json.Unmarshal(it.Data, &f); err != nil || f == nil {
			return nil, worker.Permanent(fmt.Errorf("item %s: want an object with an %s field", it.ID, idxField))
		}
		if !p.All {
			var unsure bool
			if raw, ok := f["uncertain"]; !ok || json.Unmarshal(raw, &unsure) != nil || !unsure {
				out = append(out, it)
				continue
			}
		}
		var i int
		raw, ok := f[idxField]
		if !ok || json.Unmarshal(raw, &i) != nil {
			return nil, worker.Permanent(fmt.Errorf("item %s: field %s: want an index into %s", it.ID, idxField, p.Data.Dataset))
		}
		if d == nil {
			if d, err = o.load(ctx, t.Blobs, p.Data); err != nil {
				return nil, err
			}
		}
		if i < 0 || i >= d.Len() {
			return nil, worker.Permanent(fmt.Errorf("item %s: index %d outside %s (%d items)", it.ID, i, p.Data.Dataset, d.Len()))
		}
		uri, err := DataURI(d, i, zoom)
		if err != nil {
			return nil, worker.Permanent(fmt.Errorf("item %s: %w", it.ID, err))
		}
		b, _ := json.Marshal(uri)
		f[field] = b
		data, err := json.Marshal(f)
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.ID, err)
		}
		out = append(out, task.Item{ID: it.ID, Data: data})
	}
	return out, nil
}

// load returns the dataset, loading it once per worker.
func (o *op) load(ctx context.Context, blobs blob.Store, ref Data) (*ml.Dataset, error) {
	key := ref.Dataset + "\x00" + ref.Split
	o.mu.Lock()
	defer o.mu.Unlock()
	if d := o.sets[key]; d != nil {
		return d, nil
	}
	split := dataset.Split(cmp.Or(ref.Split, string(dataset.Train)))
	var d *ml.Dataset
	var err error
	switch ref.Dataset {
	case "mnist":
		d, err = dataset.LoadMNIST(split)
	case "fashion-mnist", "fashion":
		d, err = dataset.LoadFashionMNIST(split)
	default:
		if blobs == nil {
			return nil, errors.New("thumbnail: this worker has no blob store")
		}
		d, err = pack.Load(ctx, blobs, blob.Ref(ref.Dataset))
	}
	if err != nil {
		return nil, fmt.Errorf("thumbnail: load %s: %w", ref.Dataset, err)
	}
	o.sets[key] = d
	return d, nil
}

// DataURI renders item i of d as a PNG data: URI, undoing the dataset's
// normalisation (so pixels look as they did before preprocessing) and
// enlarging each pixel zoom times. One channel gives a gray image, three
// an RGB one.
func DataURI(d *ml.Dataset, i, zoom int) (string, error) {
	pix, err := Pixels(d, i)
	if err != nil {
		return "", err
	}
	c, h, w := d.Shape[0], d.Shape[1], d.Shape[2]
	img := image.NewRGBA(image.Rect(0, 0, w*zoom, h*zoom))
	for y := range h * zoom {
		for x := range w * zoom {
			at := (y/zoom)*w + x/zoom
			col := color.RGBA{pix[at], pix[at], pix[at], 255}
			if c == 3 {
				col = color.RGBA{pix[at], pix[h*w+at], pix[2*h*w+at], 255}
			}
			img.SetRGBA(x, y, col)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fmt.Errorf("thumbnail: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// Pixels returns item i of d as 8-bit values, channel-major ([C, H, W]),
// with the dataset's normalisation undone: what DataURI draws.
func Pixels(d *ml.Dataset, i int) ([]byte, error) {
	if len(d.Shape) != 3 || (d.Shape[0] != 1 && d.Shape[0] != 3) {
		return nil, fmt.Errorf("thumbnail: items of shape %v are not 1- or 3-channel images", d.Shape)
	}
	hw := d.Shape[1] * d.Shape[2]
	x := d.Item(i)
	out := make([]byte, len(x))
	for k, f := range x {
		v := float64(f)
		ch := k / hw
		if pre := d.Preprocess; pre != nil {
			if ch < len(pre.Std) {
				v *= pre.Std[ch]
			}
			if ch < len(pre.Mean) {
				v += pre.Mean[ch]
			}
			if pre.Scale > 0 {
				v /= pre.Scale
			}
		} else {
			v *= 255
		}
		out[k] = uint8(math.Max(0, math.Min(255, math.Round(v))))
	}
	return out, nil
}

// DecodeURI reads back the pixels of a picture DataURI drew with the
// given channels and zoom (one value per original pixel, [C, H, W]).
func DecodeURI(uri string, channels, zoom int) ([]byte, error) {
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(uri, prefix) || zoom < 1 {
		return nil, errors.New("thumbnail: not a PNG data: URI")
	}
	raw, err := base64.StdEncoding.DecodeString(uri[len(prefix):])
	if err != nil {
		return nil, fmt.Errorf("thumbnail: %w", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("thumbnail: %w", err)
	}
	b := img.Bounds()
	w, h := b.Dx()/zoom, b.Dy()/zoom
	out := make([]byte, channels*h*w)
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x*zoom, b.Min.Y+y*zoom).RGBA()
			out[y*w+x] = uint8(r >> 8)
			if channels == 3 {
				out[h*w+y*w+x], out[2*h*w+y*w+x] = uint8(g>>8), uint8(bl>>8)
			}
		}
	}
	return out, nil
}
