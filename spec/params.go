package spec

import "github.com/myriadhq/myriad/task"

// ParamError is one problem with an operator's params. Field is relative
// to the stage's params ("k", "labels[2].name"), "" for params as a whole.
type ParamError struct {
	Field string
	Msg   string
}

// ParamChecker may be implemented by the Ops given to Compile to check
// operators' params at submit time, so a bad param is reported with the
// job spec's other errors, naming its field and line. CheckStage sees the
// stage as written and as compiled; it may fill operator-specific
// defaults into the compiled stage (e.g. a longer timeout) but must not
// change its name, op or inputs.
type ParamChecker interface {
	CheckStage(raw *Stage, s *task.Stage) []ParamError
}
