package sqlite

// FinishViaJSON switches TaskFinishDone to its json_each form.
var FinishViaJSON = &finishViaJSON
