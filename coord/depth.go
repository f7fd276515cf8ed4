package coord

// QueueDepth is the number of microtasks ready to run and not yet leased,
// over all active jobs. When coordinators share a store every one of them
// reports the store's count (refreshed about every second), so any
// replica's figure can drive worker autoscaling; exported by /metrics as
// myriad_queue_depth.
func (c *Coordinator) QueueDepth() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, j := range c.jobs {
		for _, s := range j.stages {
			n += s.counts.Ready
		}
	}
	return n
}
