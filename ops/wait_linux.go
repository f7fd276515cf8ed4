package ops

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// waitFine sleeps d with nanosleep(2), blocking the calling thread.
func waitFine(d time.Duration) {
	// Ask the kernel to end this thread's sleeps on time rather than
	// within its default slack of 50 µs (a per-thread setting, harmless to
	// whatever else runs on the thread later).
	unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	for d > 0 {
		ts := unix.NsecToTimespec(int64(d))
		var rest unix.Timespec
		if err := unix.Nanosleep(&ts, &rest); !errors.Is(err, unix.EINTR) {
			return
		}
		d = time.Duration(rest.Nano())
	}
}
