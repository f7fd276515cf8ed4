package api

// RetryResponse answers POST /v1/jobs/{id}/retry.
type RetryResponse struct {
	// Revived counts the dead microtasks put back in the queue.
	Revived int64 `json:"revived"`
	// Job is the job's status after the retry.
	Job *JobStatus `json:"job"`
}
