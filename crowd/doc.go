// Package crowd turns redundant human answers into labels and measures the
// people who gave them: the quality-control maths of myriad's human
// microtasks. It is pure computation, with no engine dependency; the
// engine's operators and CLI call it.
//
//   - Input: Answer (question, worker, label) and Truth, read from
//     question,worker,answer and question,truth CSV (ReadAnswers,
//     ReadTruth).
//   - Aggregation: MajorityVote and DawidSkene (EM over a full confusion
//     matrix per worker, Dawid & Skene 1979) both return a Result: per
//     question a label, its confidence and posterior; per worker an
//     estimated accuracy and confusion matrix; class priors. Evaluate
//     scores a Result against truth; AggregateCSV is the CLI's
//     `myriad aggregate`.
//   - Adaptive redundancy: RedundancyPolicy decides from an item's
//     answers so far and a WorkerModel whether the item needs another
//     answer; an Estimator keeps the WorkerModel current as answers
//     arrive; ReplayAdaptive and ReplayFixed measure the answers saved on
//     a recorded answer set.
//   - Annotator quality: GoldAccuracy, Agreement, PausePolicy, Report.
//   - Simulation: Simulator and Annotator produce deterministic answers of
//     simulated annotators (accuracy, per-class bias, speed, spammers) for
//     tests and demos.
//
// Everything is deterministic: ties are broken by seeded generators keyed
// by the question, so a tie-break depends neither on the input order nor
// on the other questions. docs/crowd.md gives the formulas and the measured figures.
package crowd
