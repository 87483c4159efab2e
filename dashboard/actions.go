package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/campaignconnector/campaignconnector/connector"
	"github.com/campaignconnector/campaignconnector/event"
	"github.com/campaignconnector/campaignconnector/internal/linetext"
	"github.com/campaignconnector/campaignconnector/rule"
)

// The actions a campaign page offers, as their form values.
const (
	opPublish = "publish"
	opStop    = "stop"
	opArchive = "archive"
	// opCancelPending cancels what a stop or an archive cut short left
	// pending: offered on the page of a stopped or archived follow-up
	// that still has deliveries waiting.
	opCancelPending = "cancel_pending"
)

// outcome is what an action leads to, and how the page the browser is
// sent to after it confirms it.
type outcome struct {
	states []rule.State // the campaign's states after the action
	done   string       // the confirmation
	// part confirms the action when its change of state went through
	// but the cancellation of the campaign's pending deliveries failed;
	// the engine never sends those (each is dropped at its due time), so
	// the page says what happened and, with %s, where the error is.
	part string
	// cancels says done tells that no delivery is left waiting; listed
	// replaces done when the page still lists some (a forged address,
	// or sends that were in flight when the campaign stopped) or cannot
	// tell.
	cancels bool
	listed  string
}

// outcomes are the actions' outcomes, by form value.
var outcomes = map[string]outcome{
	opPublish: {states: []rule.State{rule.Active}, done: "Published: the campaign is active."},
	opStop: {states: []rule.State{rule.Stopped}, done: "Stopped: its pending deliveries are cancelled.", cancels: true, listed: "Stopped.",
		part: "Stopped, but cancelling its pending deliveries failed (reference %s in the server's log): they are not sent; each is dropped when it falls due."},
	opArchive: {states: []rule.State{rule.Archived}, done: "Archived.",
		part: "Archived, but cancelling its pending deliveries failed (reference %s in the server's log): they are not sent; each is dropped when it falls due."},
	opCancelPending: {states: []rule.State{rule.Stopped, rule.Archived}, done: "Cancelled: no delivery of the campaign is left pending.", cancels: true,
		part: "Cancelling its pending deliveries failed again (reference %s in the server's log): they are not sent; each is dropped when it falls due, or try again."},
}

// doneNote confirms action op on the page of a campaign in state s, or is
// "" when s is not the state op leads to: the address that asks for the
// confirmation is anyone's to write, and the live refresh reloads it
// after others have changed the campaign, so the page confirms only what
// the campaign's state bears out.
func doneNote(op string, s rule.State) string {
	if o, ok := outcomes[op]; ok && slices.Contains(o.states, s) {
		return o.done
	}
	return ""
}

// listedNote is what replaces note, the confirmation of op, on a page
// that may show waiting deliveries of the campaign (waiting: it lists or
// counts some, or cannot tell), when note says none is left: the page
// confirms only what it shows.
func listedNote(op, note string, waiting bool) string {
	if o := outcomes[op]; o.cancels && waiting && note == o.done {
		return o.listed
	}
	return note
}

// resumedNote confirms a publish that resumed a stopped campaign (an
// activation after the first): it says that the deliveries the stop
// cancelled stay cancelled.
const resumedNote = "Published: the campaign is active again from now on. The deliveries the stop cancelled are not sent, and what users did while it was stopped does not count."

// partNote is doneNote for an action whose cancellation failed, logged
// under reference ref: "" unless the state bears the action out and ref
// is one logError makes.
func partNote(op, ref string, s rule.State) string {
	if o := outcomes[op]; o.part != "" && isRef(ref) && slices.Contains(o.states, s) {
		return fmt.Sprintf(o.part, ref)
	}
	return ""
}

// maxActionForm bounds the body of an action's form.
const maxActionForm = 64 << 10

// action carries out a POSTed publish, stop, archive or cancellation of
// what a stop left pending, then sends the
// browser to the campaign's page (303, so a reload does not post again).
func (h *handler) action(w http.ResponseWriter, r *http.Request) {
	if h.csrf == nil {
		h.problem(w, http.StatusForbidden, "This dashboard is read-only: the host has not enabled actions.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxActionForm)
	// Who asks is settled before anything is done, so that every line of
	// the audit trail names them, and an action is never carried out
	// without its line.
	who, err := h.actor(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	audit := func(attrs ...any) []any {
		if who != "" {
			attrs = append(attrs, "user", who)
		}
		return attrs
	}
	// The origin is checked before the form is read: a cross-origin
	// request is refused, and logged at Warn, as one even when its body is
	// unreadable or too large.
	refused := h.csrf.checkOrigin(r)
	if err := r.ParseForm(); err != nil && refused == nil {
		msg := "Unreadable form: " + err.Error()
		h.cfg.logger.InfoContext(r.Context(), "campaignconnector dashboard: action refused", audit(
			"status", http.StatusBadRequest, "reason", clipText(msg), "remote", r.RemoteAddr)...)
		h.problem(w, http.StatusBadRequest, msg)
		return
	}
	if refused == nil {
		refused = h.csrf.checkToken(r)
	}
	if refused != nil {
		// Logged: a refused action is part of the audit trail too. The
		// form's fields are what could be read of it.
		h.cfg.logger.WarnContext(r.Context(), "campaignconnector dashboard: action refused", audit(
			"error", refused.Error(), "op", clipText(r.PostForm.Get("op")), "campaign", clipText(r.PostForm.Get("id")), "remote", r.RemoteAddr)...)
		h.problem(w, http.StatusForbidden, refused.Error())
		return
	}
	op, id := r.PostForm.Get("op"), r.PostForm.Get("id")
	// refuse answers an action the dashboard or the engine refuses, and
	// logs it at Info with who asked: the audit trail has every attempt.
	refuse := func(status int, msg string) {
		h.cfg.logger.InfoContext(r.Context(), "campaignconnector dashboard: action refused", audit(
			"status", status, "reason", clipText(msg), "op", clipText(op), "campaign", clipText(id), "remote", r.RemoteAddr)...)
		h.problem(w, status, msg)
	}
	if id == "" {
		refuse(http.StatusBadRequest, "Which campaign? The form has no id.")
		return
	}
	// An ID no store can hold is refused before the engine is asked,
	// which would answer that it knows no such campaign, repeating all
	// of it. One of 257 to 1,024 bytes, which Save refuses, goes to the
	// engine: a campaign stored without Save may have it, and an operator
	// must be able to stop it.
	if len(id) > maxUserID {
		refuse(http.StatusBadRequest, "That campaign ID is longer than any the engine accepts.")
		return
	}
	if err := event.CheckText(id); err != nil {
		refuse(http.StatusBadRequest, "That campaign ID "+err.Error()+": the engine accepts no such ID.")
		return
	}
	ctx := r.Context()
	switch op {
	case opPublish:
		err = h.src.Publish(ctx, id)
	case opStop:
		err = h.src.Stop(ctx, id)
	case opArchive:
		if r.PostForm.Get("confirm") != opArchive {
			refuse(http.StatusBadRequest, "Archiving is final: tick the box that says so.")
			return
		}
		err = h.src.Archive(ctx, id)
	case opCancelPending:
		err = h.src.CancelPending(ctx, id)
	default:
		refuse(http.StatusBadRequest, fmt.Sprintf("Unknown action %q: publish, stop, archive or cancel_pending.", op))
		return
	}
	switch {
	case errors.Is(err, connector.ErrUnknownCampaign):
		refuse(http.StatusNotFound, err.Error())
		return
	case errors.Is(err, rule.ErrInvalidTransition):
		refuse(http.StatusConflict, err.Error())
		return
	case errors.Is(err, connector.ErrNotCancelled) && outcomes[op].part != "":
		// The campaign is stopped or archived, but cancelling its pending
		// deliveries failed (the store, or the request's end): the action
		// took effect, and the page says so with the reference of the
		// error.
		ref := h.logError(r, err)
		h.cfg.logger.WarnContext(ctx, "campaignconnector dashboard: "+op+", its pending deliveries not all cancelled", audit(
			"campaign", id, "ref", ref)...)
		w.Header().Set("Location", "campaign?"+url.Values{"id": {id}, "done": {op}, "ref": {ref}}.Encode())
		w.WriteHeader(http.StatusSeeOther)
		return
	case err != nil:
		// The audit trail names who asked; fail logs the error under the
		// reference the page shows.
		h.cfg.logger.WarnContext(ctx, "campaignconnector dashboard: action failed", audit(
			"op", op, "campaign", clipText(id), "remote", r.RemoteAddr)...)
		h.fail(w, r, err)
		return
	}
	// The log is the actions' audit trail: who (when signed in) did what.
	h.cfg.logger.InfoContext(ctx, "campaignconnector dashboard: "+op, audit("campaign", id)...)
	w.Header().Set("Location", "campaign?"+url.Values{"id": {id}, "done": {op}}.Encode())
	w.WriteHeader(http.StatusSeeOther)
}

// actor returns who makes the action r asks for, clipped for the log:
// the host's WithActor, or, when it has no answer or is not set, the user
// name the dashboard's basic auth signed r in with; "" when neither
// knows. A WithActor that panics is an error: the action is refused
// rather than carried out unattributed.
func (h *handler) actor(r *http.Request) (who string, err error) {
	if h.cfg.actor != nil {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("dashboard: the WithActor function panicked: %v", p)
			}
		}()
		if who = h.cfg.actor(r); who != "" {
			return clipText(who), nil
		}
	}
	if user, _, ok := r.BasicAuth(); ok && h.cfg.auth != nil {
		return user, nil
	}
	return "", nil
}

// clipText cuts s to at most 100 bytes, at a character's start, for a
// log line: a refused form's fields are whatever its sender put there
// (the logger escapes what they hold).
func clipText(s string) string { return linetext.Clip(s, 100) }
