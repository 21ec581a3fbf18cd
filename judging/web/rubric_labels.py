"""The names of the rubric's sections and settings in the user's language, as the contest builder shows
them (next to the TOML key, which stays the reference: errors and files name it)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SECTION_LABELS = {
    "contest": _l("Contest"),
    "entry": _l("Entry rules"),
    "fields": _l("Entry fields"),
    "nomination": _l("Nomination by the parent organisation"),
    "categories": _l("Categories"),
    "criteria": _l("Criteria"),
    "checks": _l("Checks"),
    "assignment": _l("Assignment of judges"),
    "aggregation": _l("Aggregation of scores"),
    "awards": _l("Awards"),
    "parts": _l("Score parts"),
    "ranking": _l("Ranking"),
    "collectives": _l("Outstanding collectives"),
    "levels": _l("Certificate levels"),
    "vote": _l("Public vote"),
    "bands": _l("Bands of the vote rank"),
    "flags": _l("When votes are flagged as possibly rigged"),
}

SETTING_LABELS = {
    "slug": _l("Short name in web addresses"),
    "title": _l("Title"),
    "kind": _l("Kind of contest"),
    "ceremony": _l("Ceremony"),
    "description": _l("Description"),
    "issuer": _l("Issuer of certificates"),
    "code_prefix": _l("Entry code prefix"),
    "media": _l("Kind of work"),
    "quota_per_organization": _l("Entries per organisation"),
    "max_duration_seconds": _l("Longest duration (seconds)"),
    "allowed_extensions": _l("File types (one per line)"),
    "max_file_mb": _l("Largest file (MB)"),
    "declarations": _l("Declarations the entrant confirms (one per line)"),
    "entrant_kinds": _l("Kinds of organisation that may enter (one per line; none: any)"),
    "key": _l("Key"),
    "label": _l("Label"),
    "type": _l("Type"),
    "required": _l("Required"),
    "identifying": _l("Names the entrant (hidden from blind judges)"),
    "by": _l("Nominated by"),
    "quota": _l("Nominations per organisation"),
    "max": _l("Maximum"),
    "weight": _l("Weight"),
    "step": _l("Step"),
    "guide": _l("Guide for judges"),
    "rule": _l("Rule"),
    "judges_per_entry": _l("Judges per entry (“all” or a number)"),
    "blind": _l("Blind review"),
    "conflict": _l("Conflicts of interest"),
    "level": _l("Aggregation level"),
    "across_judges": _l("Across judges"),
    "trim": _l("Judges dropped at each end"),
    "min_judges": _l("Fewest judges for a rank"),
    "tie_break": _l("Tie-break keys (one per line)"),
    "decimals": _l("Decimals"),
    "name": _l("Name"),
    "count": _l("Count"),
    "share": _l("Share of ranked entries"),
    "min_score": _l("Lowest score"),
    "category": _l("Category key"),
    "source": _l("Source of the scores"),
    "k": _l("Best k contestants"),
    "min_contestants": _l("Fewest contestants"),
    "max_rank": _l("Highest rank"),
    "identity": _l("Who a voter is"),
    "counts": _l("Vote counts on the public page"),
    "per_entry_per_day": _l("Votes a day for one work"),
    "per_day": _l("Votes a day in all"),
    "pow_difficulty": _l("Proof-of-work difficulty (bits; empty: the server's setting)"),
    "shortlist": _l("Works put to the vote"),
    "shortlist_size": _l("How many of the experts' best"),
    "expert_weight": _l("Weight of the experts' score"),
    "vote_weight": _l("Weight of the votes"),
    "normalisation": _l("How votes become points"),
    "up_to_rank": _l("Down to vote rank"),
    "points": _l("Points"),
    "burst_min": _l("Votes in one hour that can be a burst"),
    "burst_factor": _l("A burst: times the entry's usual votes an hour"),
    "group_min": _l("Votes from one network or device that can be a group"),
    "group_share": _l("A group: share of the entry's votes"),
    "regular_run": _l("Consecutive votes checked for machine regularity"),
    "regular_cv": _l("Regular: intervals varying less than (coefficient of variation)"),
}


def rubric_section_label(name: str) -> str:
    return str(SECTION_LABELS.get(name, name))


def rubric_setting_label(name: str) -> str:
    return str(SETTING_LABELS.get(name, name))


CHOICE_LABELS = {
    ("kind", "work"): _l("Judged works"),
    ("kind", "skills"): _l("Skills competition"),
    ("ceremony", "opening"): _l("Opening ceremony"),
    ("ceremony", "closing"): _l("Closing ceremony"),
    ("media", "video"): _l("Video"),
    ("media", "document"): _l("Documents and pictures"),
    ("type", "text"): _l("Text"),
    ("type", "int"): _l("Whole number"),
    ("type", "url"): _l("Web address"),
    ("type", "date"): _l("Date"),
    ("rule", "majority"): _l("Most judges say yes"),
    ("rule", "all"): _l("Every judge says yes"),
    ("rule", "any"): _l("One judge saying yes is enough"),
    ("rule", "best_k_sum"): _l("Sum of the best k contestants"),
    ("rule", "best_k_mean"): _l("Mean of the best k contestants"),
    ("conflict", "same_organization"): _l("Judges of the entrant's organisation recuse"),
    ("conflict", "none"): _l("No automatic recusal"),
    ("level", "sheet"): _l("Each judge's weighted total"),
    ("level", "criterion"): _l("Each criterion across judges first"),
    ("across_judges", "mean"): _l("Mean"),
    ("across_judges", "trimmed_mean"): _l("Mean without the highest and lowest"),
    ("across_judges", "median"): _l("Median"),
    ("across_judges", "zscore"): _l("Standardised per judge (z-score)"),
    ("source", "import"): _l("Imported"),
    ("source", "judged"): _l("Scored by judges"),
    ("by", "parent"): _l("The parent organisation"),
    ("identity", "account"): _l("A logged-in account"),
    ("identity", "device"): _l("A device (cookie and browser signals)"),
    ("identity", "both"): _l("The account when logged in, else the device"),
    ("counts", "live"): _l("Shown as they grow"),
    ("counts", "hidden"): _l("Hidden until the result"),
    ("shortlist", "top"): _l("The experts' best N"),
    ("shortlist", "pick"): _l("The organiser's pick"),
    ("normalisation", "share_of_max"): _l("Share of the most votes"),
    ("normalisation", "rank_bands"): _l("Bands of the vote rank"),
    ("normalisation", "zscore"): _l("Standardised (z-score) on the experts' scale"),
}


def rubric_choice_label(setting: str, value: str) -> str:
    """A choice of a setting as the builder lists it: the value the file holds, and what it means."""
    meaning = CHOICE_LABELS.get((setting, value))
    return f"{value} · {meaning}" if meaning else value
