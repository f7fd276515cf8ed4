package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// printTable writes the rows as an aligned table.
func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tmyriad\tpeer\tmyriad/peer\ttarget\tmet\tnote")
	for _, r := range rows {
		peer, ratio := "—", "—"
		if r.hasPeer {
			peer = fmt.Sprintf("%s %s (%s)", num(r.peer), r.unit, r.peerBy)
		}
		if q, ok := r.ratio(); ok {
			ratio = fmt.Sprintf("%.2f", q)
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%s\t%s\n", r.figure, num(r.myriad), r.unit, peer, ratio, r.target, r.met, r.note)
	}
	tw.Flush()
}

// num prints a figure with about three significant digits.
func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
