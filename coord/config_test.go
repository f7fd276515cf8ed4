package coord

import (
	"strings"
	"testing"
	"time"

	"github.com/myriadhq/myriad/store/sqlite"
)

// Validate names the bad speculation setting; defaults fill the rest.
func TestConfigSpeculation(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{SpeculateFactor: 0.5}, "SpeculateFactor"},
		{Config{SpeculateFactor: -1}, "SpeculateFactor"},
		{Config{SpeculateFraction: 1.5}, "SpeculateFraction"},
		{Config{SpeculateMin: -time.Second}, "SpeculateMin"},
	} {
		tc.cfg.Store = st
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%+v: got %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
	c := (&Config{Store: st}).withDefaults()
	if c.SpeculateFactor != DefaultSpeculateFactor || c.SpeculateFraction != DefaultSpeculateFraction || c.SpeculateMin != DefaultSpeculateMin || c.NoSpeculation {
		t.Fatalf("defaults: %+v", c)
	}
}
