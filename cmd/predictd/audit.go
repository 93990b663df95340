package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/predictd/predictd/rollout/audit"
)

// cmdAudit checks and prints the daemon's audit log (rollout/audit).
// verify's exit status: 0 when the log verifies, 1 when it is damaged
// (the first bad entry is named), 2 when the check could not be made (a
// usage error, an unreadable file).
func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "audit: want a subcommand: verify --log FILE [--anchor-seq N --anchor-hash H], or show --log FILE [--model M] [--action A] [--actor NAME] [--json]"
	if len(args) == 0 {
		return usageErr(use)
	}
	switch args[0] {
	case "verify":
		return auditVerify(args[1:], stdout, stderr)
	case "show":
		return auditShow(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, "predictd "+use)
		return nil
	}
	return usageErr("audit: unknown subcommand %q (%s)", args[0], use)
}

func auditVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit verify", stderr)
	path := fs.String("log", "", "the audit log file (the daemon's --audit-log)")
	aseq := fs.Int64("anchor-seq", 0, "an anchor's seq: a head seq noted earlier (the daemon's metrics, an earlier verify); the log must reach it")
	ahash := fs.String("anchor-hash", "", "the anchor's hash: the log's entry at --anchor-seq must have it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "log"); err != nil {
		return err
	}
	var anchor *audit.Anchor
	if *aseq != 0 || *ahash != "" {
		if *aseq < 1 || *ahash == "" {
			return usageErr("audit verify: --anchor-seq %d --anchor-hash %q: give both, the seq 1 or more", *aseq, *ahash)
		}
		anchor = &audit.Anchor{Seq: *aseq, Hash: strings.ToLower(*ahash)}
	}
	f, err := os.Open(*path)
	if err != nil {
		return &exitError{2, fmt.Errorf("audit verify: %w", err)}
	}
	defer f.Close()
	sum, err := audit.Verify(f, anchor)
	var ve *audit.VerifyError
	if errors.As(err, &ve) {
		fmt.Fprintf(stdout, "damaged: %s: %v\n", *path, ve)
		if line, ok := readLineN(*path, ve.Line); ok {
			fmt.Fprintf(stdout, "line %d: %.400q\n", ve.Line, line)
		}
		return &exitError{1, fmt.Errorf("audit verify: %s is damaged: the first bad entry is line %d (seq %d): %s", *path, ve.Line, ve.Seq, ve.Kind)}
	}
	if err != nil {
		return &exitError{2, fmt.Errorf("audit verify: %s: %w", *path, err)}
	}
	fmt.Fprintf(stdout, "ok: %d entries, head seq %d hash %s\n", sum.Entries, sum.Seq, sum.Hash)
	return nil
}

// readLineN returns line n (1-based) of the file, for showing a bad
// entry; false when there is none.
func readLineN(path string, n int64) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for i := int64(1); ; i++ {
		line, err := br.ReadString('\n')
		if i == n && (err == nil || line != "") {
			return strings.TrimSuffix(line, "\n"), true
		}
		if err != nil {
			return "", false
		}
	}
}

func auditShow(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit show", stderr)
	path := fs.String("log", "", "the audit log file (the daemon's --audit-log)")
	model := fs.String("model", "", "only this model's entries")
	action := fs.String("action", "", "only entries of this action: "+actionList())
	actor := fs.String("actor", "", "only entries of this actor (an admin token's name, daemon, unauthenticated)")
	asJSON := fs.Bool("json", false, "print the matching lines as stored (JSON lines) instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "log"); err != nil {
		return err
	}
	if *action != "" && !audit.Action(*action).Valid() {
		return usageErr("audit show: --action %q: want one of %s", *action, actionList())
	}
	f, err := os.Open(*path)
	if err != nil {
		return &exitError{2, fmt.Errorf("audit show: %w", err)}
	}
	defer f.Close()
	filter := audit.Filter{Model: *model, Action: audit.Action(*action), Actor: *actor}
	show := audit.Show
	if *asJSON {
		show = audit.ShowJSON
	}
	if err := show(stdout, f, filter); err != nil {
		return fmt.Errorf("audit show: %s: %w (the entries before it are printed; predictd audit verify checks the whole log)", *path, err)
	}
	return nil
}

func actionList() string {
	s := make([]string, len(audit.Actions))
	for i, a := range audit.Actions {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}
