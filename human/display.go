package human

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/myriadhq/myriad/api"
)

// Limits on what is shown of one item.
const (
	maxText  = 100_000
	maxImage = 4 << 20 // a data: URI
)

// display builds what an annotator sees of an item: only the fields the
// stage names (an item may carry a model's prediction, a gold answer or
// anything else that must not reach people).
func (p *Params) display(data json.RawMessage) api.Display {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return api.Display{}
	}
	var d api.Display
	switch x := v.(type) {
	case string:
		d.Text = x
	case map[string]any:
		if t, ok := lookup(x, p.TextField); ok {
			d.Text = valueText(t)
		}
		if im, ok := lookup(x, p.ImageField); ok {
			if s, ok := im.(string); ok && safeImage(s) {
				d.Image = s
			}
		}
		for _, f := range p.Fields {
			if fv, ok := lookup(x, f); ok {
				d.Fields = append(d.Fields, api.DisplayField{Name: f, Value: clip(valueText(fv))})
			}
		}
	case nil:
	default:
		d.Text = string(data)
	}
	d.Text = clip(d.Text)
	return d
}

func displayEmpty(d api.Display) bool { return d.Text == "" && d.Image == "" && len(d.Fields) == 0 }

func clip(s string) string {
	if len(s) > maxText {
		return s[:maxText] + "…"
	}
	return s
}

// lookup finds a field by a dotted path ("prediction.prob").
func lookup(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	cur := any(m)
	for _, part := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var dataImage = regexp.MustCompile(`^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$`)

// safeImage accepts http(s) URLs and base64 data URIs of raster images:
// what an <img> may load under the app's Content Security Policy.
func safeImage(s string) bool {
	if strings.HasPrefix(s, "data:") {
		return len(s) <= maxImage && dataImage.MatchString(s)
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(s) <= 8192
}
