"""The scoring engine's typed results in words, in the user's language.

The engine (:mod:`judging.scoring`) returns enums and dataclasses, never sentences; this module is
where they become words, through gettext (Chinese by default, English on request; English outside
an application context, as the offline ``flask rank`` in a test runs). The web's labels
(:mod:`judging.web.labels`), the results workbook, the exports and the command line all word the
engine's results here, so each enum has one set of words. Numbers are shown exactly as the engine
computed them (:func:`arithmetic`), in no language.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import ngettext

from judging.scoring.awards import AwardNote
from judging.scoring.eligibility import NotRankedReason, RankStatus, ReasonKind
from judging.scoring.explanation import Computation, DecidedBy, Neighbour, Operation, exact_text, number_text
from judging.scoring.ranking import ListingNote
from judging.scoring.rules import SheetFate
from judging.scoring.skills import MissingPart


def sheet_fate_label(fate: SheetFate) -> str:
    """What became of a sheet (or a criterion score) in the aggregation."""
    return {
        SheetFate.COUNTED: _("counted"),
        SheetFate.TRIMMED_LOW: _("dropped: trimmed (lowest)"),
        SheetFate.TRIMMED_HIGH: _("dropped: trimmed (highest)"),
        SheetFate.OUTSIDE_MEDIAN: _("not counted: outside the median"),
        SheetFate.INCOMPLETE: _("dropped: incomplete sheet"),
    }[SheetFate(fate)]


def rank_status_label(status: RankStatus) -> str:
    """Ranked, excluded (a check failed) or not ranked (too few sheets)."""
    return {
        RankStatus.RANKED: _("ranked"),
        RankStatus.EXCLUDED: _("excluded"),
        RankStatus.NOT_RANKED: _("not ranked"),
    }[RankStatus(status)]


def check_rule_label(rule: str) -> str:
    """A check's rule: majority, all or any."""
    return {"majority": _("majority"), "all": _("all"), "any": _("any")}.get(rule, rule)


def incomplete_sheets_text(n: int) -> str:
    return _("%(n)d incomplete sheets were dropped.", n=n)


def reason_text(reason: NotRankedReason) -> str:
    """Why an entry is not ranked, as one sentence (or two, when incomplete sheets were dropped)."""
    if reason.kind is ReasonKind.FAILED_CHECK:
        return _(
            "Failed the check “%(label)s” (rule: %(rule)s): %(passes)d of %(answers)d judges answered pass.",
            label=reason.check_label or reason.check,
            rule=check_rule_label(reason.rule),
            passes=reason.passes,
            answers=reason.answers,
        )
    if reason.kind is ReasonKind.TOO_FEW_SHEETS:
        text = _("%(n)d valid sheets, fewer than the %(min)d required.", n=reason.valid_sheets, min=reason.required)
    else:
        text = _(
            "The trimmed mean drops %(trim)d sheets at each end and needs more than %(need)d valid sheets; "
            "there are %(n)d.",
            trim=reason.trim,
            need=2 * reason.trim,
            n=reason.valid_sheets,
        )
    if reason.incomplete_sheets:
        text = f"{text} {incomplete_sheets_text(reason.incomplete_sheets)}"
    return text


def award_note_text(note: AwardNote) -> str:
    """An award given to more entries than its places because of a rank shared across its boundary."""
    return ngettext(
        "Rank %(rank)d is shared across the last place of %(award)s (%(num)d place): all of %(entries)s receive it.",
        "Rank %(rank)d is shared across the last place of %(award)s (%(num)d places): all of %(entries)s receive it.",
        note.places,
        rank=note.rank,
        award=note.award,
        places=note.places,
        entries=_(", ").join(note.entries),
    )


def listing_note_text(note: ListingNote) -> str:
    """The ``note`` of a line of the ranking listing: the award note of a ranked entry, the reasons
    of one that is not ranked, or nothing."""
    if isinstance(note, AwardNote):
        return award_note_text(note)
    if isinstance(note, tuple):
        return " ".join(reason_text(reason) for reason in note)
    return ""


def sheet_note_text(
    missing: tuple[str, ...], criterion_status: Mapping[str, SheetFate], criterion_labels: Mapping[str, str]
) -> str:
    """The note of a sheet in the sheets table: the criteria an incomplete sheet lacks, or (at
    criterion level) the criterion scores that did not count and why."""
    if missing:
        return _("Missing: %(criteria)s", criteria=_(", ").join(criterion_labels.get(key, key) for key in missing))
    return _("; ").join(
        _("%(label)s: %(value)s", label=criterion_labels.get(key, key), value=sheet_fate_label(fate))
        for key, fate in criterion_status.items()
    )


def arithmetic(computation: Computation | None) -> str:
    """The numbers of a computation, in no language: ``(88 + 80) / 2 = 84 → 84.00``; empty when
    there is none (an entry with too few sheets for a score)."""
    if computation is None:
        return ""
    result = str(computation.result)
    if computation.operation is Operation.ZSCORE:
        z = computation.zscore
        assert z is not None
        return f"{z.overall_mean:.6f} + {z.overall_sd:.6f} × {z.mean_z:.6f} = {z.points:.6f} → {result}"
    if computation.operation is Operation.WEIGHTED_SUM:
        terms = []
        for term in computation.terms:
            if term.zscore is not None:
                z = term.zscore
                value = f"({z.overall_mean:.6f} + {z.overall_sd:.6f} × {z.mean_z:.6f})"
            else:
                value = exact_text(term.value) if term.value is not None else ""
            terms.append(f"{number_text(term.weight)} × {value}")
        exact = "" if computation.exact is None else f" = {exact_text(computation.exact)}"
        return f"{' + '.join(terms)}{exact} → {result}"
    assert computation.exact is not None
    exact = exact_text(computation.exact)
    if computation.operation is Operation.MEDIAN and computation.divisor == 1:
        return f"{exact} → {result}"
    operands = " + ".join(number_text(value) for value in computation.operands)
    return f"({operands}) / {computation.divisor} = {exact} → {result}"


def neighbour_text(neighbour: Neighbour | None, above: bool, criterion_labels: Mapping[str, str]) -> str:
    """What decided an entry's place against the entry just above or below it."""
    if neighbour is None:
        return ""
    if neighbour.decided_by is DecidedBy.SHARED_RANK:
        return _(
            "Shares its rank with %(entry)s: equal on the final score and on every tie-break.", entry=neighbour.entry
        )
    if neighbour.decided_by is DecidedBy.TIE_BREAK:
        criterion = criterion_labels.get(neighbour.criterion or "", neighbour.criterion)
        if above:
            return _(
                "Tied with %(entry)s (above) on the final score; "
                "the tie-break on %(criterion)s placed %(entry)s first.",
                entry=neighbour.entry,
                criterion=criterion,
            )
        return _(
            "Tied with %(entry)s (below) on the final score; the tie-break on %(criterion)s placed this entry first.",
            entry=neighbour.entry,
            criterion=criterion,
        )
    if above:
        return _("Below %(entry)s by the final score.", entry=neighbour.entry)
    return _("Above %(entry)s by the final score.", entry=neighbour.entry)


def missing_parts_text(missing: tuple[MissingPart, ...], part_labels: Mapping[str, str]) -> str:
    """Why a contestant of a skills contest is not ranked: for each part without a score, the words
    the caller gave for it, else that the part has no score."""
    return _("; ").join(
        item.reason or _("No score for the part %(part)s.", part=part_labels.get(item.part, item.part))
        for item in missing
    )
