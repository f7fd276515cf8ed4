package ops

import (
	"context"
	"time"
)

// fineWait is the last stretch of a wait that waitFine sleeps, blocking
// its thread, instead of waiting on a Go timer.
const fineWait = 2 * time.Millisecond

// wait waits d, or until ctx ends (its error then). Go's timers can fire
// up to a millisecond late (the runtime's poller waits with millisecond
// resolution): 3–7 % of a 10 ms sleep, measured here. So the last
// fineWait of d is slept by the kernel (waitFine), which ends it within
// its timer slack; a cancellation during that stretch is seen at its end.
func wait(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	if coarse := d - fineWait; coarse > 0 {
		t := time.NewTimer(coarse)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	waitFine(time.Until(deadline))
	return ctx.Err()
}
