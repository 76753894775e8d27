"""Centre capacity, size templates, weekly demand and staffing.

A neighbourhood health centre (NHC) is open 12 hours a day, 6 days a week by
default. This module turns documented, configurable assumptions into three
numbers the optimiser and the report need:

* :func:`weekly_demand` -- appointments per week that each small area would
  bring to a centre (population by age band x annual contacts per person x a
  deprivation multiplier x the share of that activity a centre hosts / 52);
* :func:`weekly_capacity` -- appointments per week a centre of a given size
  template can deliver (rooms x opening hours x 60 / appointment length x room
  utilisation);
* :func:`staffing` -- whole-time equivalents (WTE) by role needed to deliver a
  weekly number of appointments (skill mix x appointments per WTE per week).

Every default is a field of a frozen dataclass (:class:`DemandAssumptions`,
:class:`OpeningHours`, :class:`CostAssumptions`, :class:`StaffingAssumptions`)
with its source in the docstring; override any of them with
:func:`dataclasses.replace`. Where a figure is a modelling assumption rather
than a published statistic, the docstring says so. ``docs/capacity.md`` gives
the full rationale.

References
----------
.. [1] NHS England / NHS Digital, "Appointments in General Practice" (monthly
   official statistics): about 370 million appointments a year in general
   practice in England (around 30 million a month, 2024-25), i.e. roughly 6 per
   registered patient a year; about two thirds face to face.
.. [2] Hobbs FDR, Bankhead C, Mukhtar T, et al. "Clinical workload in UK primary
   care: a retrospective analysis of 100 million consultations in England,
   2007-14". Lancet 2016;387:2323-30. Consultation rates rise steeply with age
   (highest in children under 5 and adults over 75); the crude rate of GP and
   nurse consultations rose from 4.67 per person-year in 2007-08 to 5.16 in
   2013-14.
.. [3] NHS England / NHS Digital, "Community Services Statistics" (Community
   Services Data Set, CSDS, 2023-24): roughly 9 million community care
   contacts a month in England (~1.9 per person a year), concentrated in
   people aged 65 and over and in children's services.
.. [4] Carr-Hill formula review / "Deprivation and primary care workload",
   e.g. McLean G et al., Br J Gen Pract 2006;56:834-41 and the NHS England
   global sum allocation formula: consultation rates are about 10-25% higher in
   the most deprived areas than in the least deprived after adjusting for age.
.. [5] NHS Digital, "Appointments in General Practice": most appointments are
   booked for 6-15 minutes; 15 minutes is the BMA's recommended minimum
   consultation length ("Safe working in general practice", BMA 2024).
.. [6] NHS Property Services / Community Health Partnerships space-utilisation
   studies and the Naylor Review (2017) of NHS property and estates: clinical
   room utilisation in primary and community care is often below 60%; 75% is
   used here as an achievable target for a new, well-booked centre.
.. [7] NHS Digital, "General Practice Workforce" (official statistics, 2024):
   about 1 full-time-equivalent admin/non-clinical staff member per FTE of
   clinical staff (GPs, nurses, direct patient care) in English practices.
.. [8] Office for National Statistics, "Population and household estimates,
   England and Wales: Census 2021" (28 June 2022): 56,490,048 usual residents
   in England on 21 March 2021.
.. [9] The national programme figures as given in issue 16 ("the Plan": 120
   neighbourhood health centres by 2030, 250 by 2035). Check them against the
   current DHSC / NHS England programme documents before relying on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from nhc_planner._errors import MissingColumnError, ValueRangeError

__all__ = [
    "ENGLAND_POPULATION_2021",
    "NATIONAL_CENTRE_TARGETS",
    "ROLES",
    "ROLE_LABELS",
    "CostAssumptions",
    "DemandAssumptions",
    "OpeningHours",
    "ServiceMix",
    "SizeTemplate",
    "StaffingAssumptions",
    "SuggestedCentres",
    "UnmetDemandTables",
    "default_size_templates",
    "fit_sizes_to_budget",
    "room_minutes_per_appointment",
    "size_for_load",
    "size_template",
    "staffing",
    "staffing_for_capacity",
    "suggested_centres",
    "unmet_demand_tables",
    "weekly_capacity",
    "weekly_demand",
]

#: Staff roles reported by :func:`staffing`, in report order.
ROLES: tuple[str, ...] = ("gp", "nurse", "pharmacist", "mental_health", "allied_health", "admin")

#: How tables and reports name each of :data:`ROLES` (same order).
ROLE_LABELS: dict[str, str] = {
    "gp": "GPs",
    "nurse": "Nurses",
    "pharmacist": "Pharmacists",
    "mental_health": "Mental health",
    "allied_health": "Allied health",
    "admin": "Admin",
}

_WEEKS_PER_YEAR = 52.0


def _deprivation_default() -> tuple[float, ...]:
    # Linear from 1.20 in decile 1 (most deprived) to 0.90 in decile 10 [4].
    return tuple(round(1.20 - 0.30 * k / 9.0, 4) for k in range(10))


@dataclass(frozen=True)
class OpeningHours:
    """When a centre is open.

    Attributes
    ----------
    hours_per_day
        Opening hours a day (default 12: 8:00-20:00, the extended-access
        pattern of the NHS England neighbourhood health guidance 2025).
    days_per_week
        Days open a week (default 6: Monday-Saturday).
    """

    hours_per_day: float = 12.0
    days_per_week: float = 6.0

    def __post_init__(self) -> None:
        if not 0 < self.hours_per_day <= 24:
            msg = f"OpeningHours.hours_per_day must be in (0, 24]; found {self.hours_per_day}"
            raise ValueRangeError(msg)
        if not 0 < self.days_per_week <= 7:
            msg = f"OpeningHours.days_per_week must be in (0, 7]; found {self.days_per_week}"
            raise ValueRangeError(msg)

    @property
    def hours_per_week(self) -> float:
        """Opening hours per week (default 72)."""
        return self.hours_per_day * self.days_per_week


@dataclass(frozen=True)
class DemandAssumptions:
    """How much primary and community care activity each resident generates.

    Attributes
    ----------
    primary_contacts
        Annual general-practice contacts (GP, nurse, other clinical staff;
        face to face and remote) per person for ages 0-15, 16-64, 65+. Default
        (3.5, 5.0, 10.0): the age gradient of Hobbs et al. 2016 [2] scaled so
        that England's age mix gives ~5.7 a year, consistent with NHS Digital
        "Appointments in General Practice" [1] (~6 per patient a year). The
        split by age band is an assumption calibrated to these totals.
    community_contacts
        Annual community-services contacts per person for the same bands.
        Default (1.0, 0.8, 6.0): calibrated so England's age mix gives ~1.8 a
        year, the CSDS national total [3]; the split (children's services,
        adult therapies, district nursing for older people) is an assumption.
    deprivation_multiplier
        Ten multipliers for IMD deciles 1 (most deprived) to 10. Default:
        linear from 1.20 to 0.90, within the 10-25% higher age-adjusted
        workload in deprived areas reported in [4] (an assumption).
    centre_share
        Share of that activity a centre hosts (the rest stays in practices,
        homes and other settings). Default 0.30 -- a planning assumption:
        an NHC brings together some, not all, of its neighbourhood's
        practice and community activity.
    """

    primary_contacts: tuple[float, float, float] = (3.5, 5.0, 10.0)
    community_contacts: tuple[float, float, float] = (1.0, 0.8, 6.0)
    deprivation_multiplier: tuple[float, ...] = field(default_factory=_deprivation_default)
    centre_share: float = 0.30

    def __post_init__(self) -> None:
        for name in ("primary_contacts", "community_contacts"):
            values = getattr(self, name)
            if len(values) != 3 or any(not np.isfinite(v) or v < 0 for v in values):
                msg = (
                    f"DemandAssumptions.{name} must be 3 finite, non-negative rates "
                    f"(ages 0-15, 16-64, 65+); found {values!r}"
                )
                raise ValueRangeError(msg)
        mult = self.deprivation_multiplier
        if len(mult) != 10 or any(not np.isfinite(v) or v < 0 for v in mult):
            msg = (
                "DemandAssumptions.deprivation_multiplier must be 10 finite, non-negative "
                f"multipliers (IMD deciles 1..10); found {mult!r}"
            )
            raise ValueRangeError(msg)
        if not 0 <= self.centre_share <= 1:
            msg = f"DemandAssumptions.centre_share must be in [0, 1]; found {self.centre_share}"
            raise ValueRangeError(msg)

    @property
    def contacts_per_person(self) -> npt.NDArray[np.float64]:
        """Annual primary + community contacts per person by age band."""
        return np.asarray(self.primary_contacts, float) + np.asarray(self.community_contacts, float)


@dataclass(frozen=True)
class CostAssumptions:
    """How room counts turn into floor area, build and running costs.

    Attributes
    ----------
    appointment_minutes
        Average length of an appointment slot (default 15 minutes, the BMA
        recommended minimum consultation length; most general-practice
        appointments are 6-15 minutes [5]).
    room_utilisation
        Share of opening hours a clinical room is in use (default 0.75, a
        target; observed primary-care utilisation is often under 60% [6]).
    gross_m2_per_room
        Gross internal floor area per clinical room including waiting,
        circulation, staff and plant space (default 60 m2: a 16 m2 consulting
        room per Health Building Note HBN 11-01 "Facilities for primary and
        community care services" plus ~2.75x for support space, an assumption
        in the range of recent LIFT/community-hub schemes).
    capex_gbp_per_m2
        All-in capital cost per m2 of new build including fees, fit-out and
        equipment (default GBP 4,500, an assumption in the range of BCIS
        healthcare new-build costs 2024 of ~3,500-5,500 per m2 before land).
    annual_gbp_per_m2
        Running (estates and facilities) cost per m2 a year, excluding staff
        (default GBP 350, an assumption in line with NHS Estates Returns
        Information Collection (ERIC) costs for community premises).
    """

    appointment_minutes: float = 15.0
    room_utilisation: float = 0.75
    gross_m2_per_room: float = 60.0
    capex_gbp_per_m2: float = 4500.0
    annual_gbp_per_m2: float = 350.0

    def __post_init__(self) -> None:
        if not self.appointment_minutes > 0:
            found = self.appointment_minutes
            msg = f"CostAssumptions.appointment_minutes must be > 0; found {found}"
            raise ValueRangeError(msg)
        if not 0 < self.room_utilisation <= 1:
            found = self.room_utilisation
            msg = f"CostAssumptions.room_utilisation must be in (0, 1]; found {found}"
            raise ValueRangeError(msg)
        for name in ("gross_m2_per_room", "capex_gbp_per_m2", "annual_gbp_per_m2"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                msg = f"CostAssumptions.{name} must be finite and >= 0; found {value}"
                raise ValueRangeError(msg)


@dataclass(frozen=True)
class SizeTemplate:
    """A centre size the optimiser can choose.

    Attributes
    ----------
    name
        Label, e.g. ``"small"``.
    rooms
        Clinical rooms.
    capex_gbp
        Capital cost of building/fitting out a centre of this size (GBP).
    annual_cost_gbp
        Running cost a year, estates and facilities only (GBP).
    """

    name: str
    rooms: int
    capex_gbp: float
    annual_cost_gbp: float

    def __post_init__(self) -> None:
        if self.rooms < 1:
            msg = f"SizeTemplate {self.name!r}: rooms must be >= 1; found {self.rooms}"
            raise ValueRangeError(msg)
        if not (self.capex_gbp >= 0 and self.annual_cost_gbp >= 0):
            msg = (
                f"SizeTemplate {self.name!r}: costs must be >= 0; found capex_gbp="
                f"{self.capex_gbp}, annual_cost_gbp={self.annual_cost_gbp}"
            )
            raise ValueRangeError(msg)


def size_template(name: str, rooms: int, costs: CostAssumptions | None = None) -> SizeTemplate:
    """Build a size template whose costs follow from its room count.

    Parameters
    ----------
    name
        Label of the size.
    rooms
        Clinical rooms.
    costs
        Floor area and cost assumptions (default :class:`CostAssumptions`).

    Returns
    -------
    SizeTemplate
        ``capex = rooms x gross_m2_per_room x capex_gbp_per_m2`` and
        ``annual = rooms x gross_m2_per_room x annual_gbp_per_m2``.

    Examples
    --------
    >>> t = size_template("medium", 12)
    >>> t.capex_gbp, t.annual_cost_gbp
    (3240000.0, 252000.0)
    """
    c = costs if costs is not None else CostAssumptions()
    area = rooms * c.gross_m2_per_room
    return SizeTemplate(
        name=name,
        rooms=int(rooms),
        capex_gbp=float(area * c.capex_gbp_per_m2),
        annual_cost_gbp=float(area * c.annual_gbp_per_m2),
    )


def default_size_templates(costs: CostAssumptions | None = None) -> tuple[SizeTemplate, ...]:
    """Return the default small (6 rooms), medium (12) and large (20) templates.

    The room counts are planning assumptions spanning the range of NHS
    neighbourhood/community hubs (a small hub in a converted building to a
    large purpose-built centre with diagnostics); costs follow from
    :func:`size_template` and :class:`CostAssumptions`.

    Examples
    --------
    >>> [(t.name, t.rooms) for t in default_size_templates()]
    [('small', 6), ('medium', 12), ('large', 20)]
    """
    return (
        size_template("small", 6, costs),
        size_template("medium", 12, costs),
        size_template("large", 20, costs),
    )


def weekly_capacity(
    template: SizeTemplate | int,
    hours: OpeningHours | None = None,
    *,
    costs: CostAssumptions | None = None,
    mix: ServiceMix | None = None,
) -> float:
    """Appointments per week a centre can deliver.

    ``rooms x hours_per_week x 60 / appointment_minutes x room_utilisation``; with a
    :class:`ServiceMix`, ``appointment_minutes`` is replaced by the room-minutes an
    average appointment uses (:func:`room_minutes_per_appointment`: minutes by role
    and only face-to-face appointments take a room).

    Parameters
    ----------
    template
        A :class:`SizeTemplate` or a number of clinical rooms.
    hours
        Opening hours (default 12 h x 6 days = 72 h a week).
    costs
        Appointment length and room utilisation (default :class:`CostAssumptions`).
    mix
        Appointment minutes and face-to-face shares by role; None keeps the single
        ``costs.appointment_minutes`` slot for every appointment.

    Returns
    -------
    float
        Appointments per week.

    Examples
    --------
    >>> weekly_capacity(12)  # 12 rooms x 72 h x 4 per hour x 0.75
    2592.0
    >>> round(weekly_capacity(12, mix=ServiceMix()), 1)  # 15.16 room-minutes each
    2564.2
    """
    rooms = template.rooms if isinstance(template, SizeTemplate) else template
    if rooms < 0:
        msg = f"weekly_capacity: rooms must be >= 0; found {rooms}"
        raise ValueRangeError(msg)
    h = hours if hours is not None else OpeningHours()
    c = costs if costs is not None else CostAssumptions()
    minutes = c.appointment_minutes if mix is None else room_minutes_per_appointment(mix)
    per_room = h.hours_per_week * 60.0 / minutes * c.room_utilisation
    return float(rooms * per_room)


def _column(data: Mapping[str, object] | pd.DataFrame, name: str) -> npt.NDArray[np.float64]:
    if name not in data:
        found = list(data.columns) if isinstance(data, pd.DataFrame) else list(data)
        msg = f"weekly_demand: column {name!r} not found; found {found}"
        raise MissingColumnError(msg)
    return np.asarray(data[name], dtype=float)  # type: ignore[index]


def weekly_demand(
    areas: pd.DataFrame | Mapping[str, object],
    assumptions: DemandAssumptions | None = None,
) -> npt.NDArray[np.float64]:
    """Appointments per week each area would bring to its centre.

    ``sum_band(pop_band x contacts_band) x deprivation_multiplier[decile]
    x centre_share / 52``.

    Parameters
    ----------
    areas
        A table or mapping with ``pop_0_15``, ``pop_16_64``, ``pop_65_plus``
        and ``imd_decile`` (1..10; missing deciles use multiplier 1.0).
    assumptions
        Contact rates and multipliers (default :class:`DemandAssumptions`).

    Returns
    -------
    numpy.ndarray
        Weekly appointments per area, in the order of ``areas``.

    Examples
    --------
    >>> d = weekly_demand({"pop_0_15": [0.0], "pop_16_64": [1040.0],
    ...                    "pop_65_plus": [0.0], "imd_decile": [10]})
    >>> float(round(d[0], 4))  # 1040 x 5.8 x 0.9 x 0.3 / 52
    31.32
    """
    a = assumptions if assumptions is not None else DemandAssumptions()
    bands = ("pop_0_15", "pop_16_64", "pop_65_plus")
    pops = np.column_stack([_column(areas, c) for c in bands])
    bad_pop = ~np.isfinite(pops) | (pops < 0)
    if bad_pop.any():
        where = [bands[k] for k in np.flatnonzero(bad_pop.any(axis=0))]
        msg = (
            f"weekly_demand: {int(bad_pop.sum())} population value(s) in {where} are "
            "missing or negative; expected counts >= 0"
        )
        raise ValueRangeError(msg)
    decile = _column(areas, "imd_decile")
    known = np.isfinite(decile)
    bad_decile = known & ((decile < 1) | (decile > 10) | (decile != np.round(decile)))
    if bad_decile.any():
        found = sorted(set(decile[bad_decile].tolist()))[:5]
        msg = f"weekly_demand: imd_decile must be integers 1..10; found {found}"
        raise ValueRangeError(msg)
    mult = np.ones(len(decile))
    table = np.asarray(a.deprivation_multiplier, float)
    mult[known] = table[decile[known].astype(int) - 1]
    annual = pops @ a.contacts_per_person
    return np.asarray(annual * mult * a.centre_share / _WEEKS_PER_YEAR, dtype=float)


@dataclass(frozen=True)
class StaffingAssumptions:
    """Skill mix and productivity used to turn appointments into staff.

    Attributes
    ----------
    skill_mix
        Share of a centre's appointments delivered by each clinical role.
        Default: GP 0.40, nurse 0.30, pharmacist 0.10, mental health 0.05,
        allied health 0.15. NHS Digital "Appointments in General Practice"
        [1] shows about 44% of appointments with GPs and most of the rest with
        nurses and other direct-patient-care staff; the split of the latter is
        an assumption reflecting the Additional Roles scheme.
    appointments_per_wte_week
        Appointments a whole-time-equivalent clinician delivers a week.
        Defaults: GP 125 (the BMA's safe-working limit of 25 contacts a day
        over 5 days), nurse 140 (shorter, more numerous contacts), pharmacist
        100 (structured medication reviews), mental health 25 (45-60 minute
        sessions), allied health 60 (30-40 minute sessions). The non-GP figures
        are assumptions.
    admin_per_clinical_wte
        Admin/reception WTE per clinical WTE (default 0.6: English practices
        run at about 1.0 [7]; a shared centre reception is assumed to need less).
    """

    skill_mix: Mapping[str, float] = field(
        default_factory=lambda: {
            "gp": 0.40,
            "nurse": 0.30,
            "pharmacist": 0.10,
            "mental_health": 0.05,
            "allied_health": 0.15,
        }
    )
    appointments_per_wte_week: Mapping[str, float] = field(
        default_factory=lambda: {
            "gp": 125.0,
            "nurse": 140.0,
            "pharmacist": 100.0,
            "mental_health": 25.0,
            "allied_health": 60.0,
        }
    )
    admin_per_clinical_wte: float = 0.6

    def __post_init__(self) -> None:
        clinical = ROLES[:-1]
        if set(self.skill_mix) != set(clinical):
            msg = (
                f"StaffingAssumptions.skill_mix must have keys {list(clinical)}; "
                f"found {sorted(self.skill_mix)}"
            )
            raise ValueRangeError(msg)
        total = sum(self.skill_mix.values())
        if any(v < 0 for v in self.skill_mix.values()) or not np.isclose(total, 1.0):
            msg = (
                "StaffingAssumptions.skill_mix shares must be >= 0 and sum to 1; "
                f"found {dict(self.skill_mix)} (sum {total:.4f})"
            )
            raise ValueRangeError(msg)
        if set(self.appointments_per_wte_week) != set(clinical) or any(
            not v > 0 for v in self.appointments_per_wte_week.values()
        ):
            msg = (
                f"StaffingAssumptions.appointments_per_wte_week must give a positive rate "
                f"for each of {list(clinical)}; found {dict(self.appointments_per_wte_week)}"
            )
            raise ValueRangeError(msg)
        if self.admin_per_clinical_wte < 0:
            msg = (
                "StaffingAssumptions.admin_per_clinical_wte must be >= 0; "
                f"found {self.admin_per_clinical_wte}"
            )
            raise ValueRangeError(msg)


def staffing(
    weekly_appointments: float | Sequence[float] | npt.ArrayLike | SizeTemplate,
    assumptions: StaffingAssumptions | None = None,
    *,
    hours: OpeningHours | None = None,
    costs: CostAssumptions | None = None,
) -> pd.DataFrame:
    """Whole-time equivalents by role needed to deliver weekly appointments.

    For each clinical role ``WTE = appointments x skill_mix[role] /
    appointments_per_wte_week[role]``; admin is ``admin_per_clinical_wte x``
    the clinical total.

    Parameters
    ----------
    weekly_appointments
        Appointments a week (a number or an array, one per centre), or a
        :class:`SizeTemplate`, in which case its full :func:`weekly_capacity`
        is used.
    assumptions
        Skill mix and productivity (default :class:`StaffingAssumptions`).
    hours, costs
        Used only when a template is given, to compute its capacity.

    Returns
    -------
    pandas.DataFrame
        One row per input value, columns :data:`ROLES` (WTE, float).

    Examples
    --------
    >>> staffing(1000.0).round(2).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'gp': 3.2, 'nurse': 2.14, 'pharmacist': 1.0, 'mental_health': 2.0,
     'allied_health': 2.5, 'admin': 6.51}
    """
    a = assumptions if assumptions is not None else StaffingAssumptions()
    if isinstance(weekly_appointments, SizeTemplate):
        appts = np.array([weekly_capacity(weekly_appointments, hours, costs=costs)])
    else:
        appts = np.atleast_1d(np.asarray(weekly_appointments, dtype=float))
    if appts.ndim != 1 or np.any(~np.isfinite(appts)) or np.any(appts < 0):
        msg = (
            "staffing: weekly_appointments must be finite, non-negative numbers "
            f"(one per centre); found {appts!r}"
        )
        raise ValueRangeError(msg)
    out = {
        role: appts * a.skill_mix[role] / a.appointments_per_wte_week[role] for role in ROLES[:-1]
    }
    clinical = np.sum(list(out.values()), axis=0)
    out["admin"] = clinical * a.admin_per_clinical_wte
    return pd.DataFrame(out, columns=list(ROLES))


# --------------------------------------------------------------------------- sizing a centre


def size_for_load(
    load: float,
    templates: Sequence[SizeTemplate],
    capacities: Sequence[float],
    allowed: Sequence[bool] | npt.NDArray[np.bool_],
) -> SizeTemplate:
    """Smallest allowed template whose weekly capacity covers ``load`` (else the largest allowed).

    Parameters
    ----------
    load
        Weekly appointments the centre must serve.
    templates, capacities
        Size templates sorted by rooms, and the weekly capacity of each.
    allowed
        Per template: whether the site's room cap allows it (at least one True).

    Examples
    --------
    >>> small, large = size_template("small", 6), size_template("large", 20)
    >>> size_for_load(500.0, [small, large], [400.0, 1300.0], [True, True]).name
    'large'
    """
    options = [(t, c) for t, c, fits in zip(templates, capacities, allowed, strict=True) if fits]
    for t, c in options:
        if c >= load:
            return t
    return options[-1][0]


def fit_sizes_to_budget(
    chosen: list[SizeTemplate | None],
    open_period: npt.NDArray[np.int64],
    load: npt.NDArray[np.float64],
    *,
    templates: Sequence[SizeTemplate],
    capacities: Sequence[float],
    allowed_sizes: npt.NDArray[np.bool_],
    site_capex: npt.NDArray[np.float64],
    budget: float,
) -> None:
    """Keep each year's capital within ``budget`` after sizing centres by their load.

    Without capacity constraints the solver costs every new centre at the middle
    size template, so sizes chosen afterwards from the catchments' demand could
    overspend. Each new centre is first capped at the middle size, then the
    year's unspent budget upgrades the most overloaded centres, one size at a
    time, while it lasts. Centres with a site-specific capital cost (``site_capex``
    not NaN) keep it. Modifies ``chosen`` (one template or None per site) in place.

    Parameters
    ----------
    chosen
        Per site: its template (None for sites not open).
    open_period
        Per site: ``0`` already open, ``t >= 1`` opens in year ``t``, ``-1`` never.
    load
        Per site: weekly appointments of its catchment.
    templates, capacities
        Size templates sorted by rooms, and the weekly capacity of each.
    allowed_sizes
        ``(n_sites, n_templates)`` sizes each site's room cap allows.
    site_capex
        Per site: capital cost overriding the template's (NaN = the template's).
    budget
        Capital per year.
    """
    middle = templates[len(templates) // 2]
    order = {t.name: i for i, t in enumerate(templates)}
    cap_of = {t.name: float(c) for t, c in zip(templates, capacities, strict=True)}

    def capex(j: int, t: SizeTemplate) -> float:
        return float(t.capex_gbp if np.isnan(site_capex[j]) else site_capex[j])

    def size(j: int) -> SizeTemplate:
        t = chosen[j]
        assert t is not None  # every site opening in a year has a size
        return t

    for year in sorted({int(p) for p in open_period if p > 0}):
        sites = np.flatnonzero(open_period == year).tolist()
        for j in sites:
            if order[size(j).name] > order[middle.name]:
                chosen[j] = middle
        spent = sum(capex(j, size(j)) for j in sites)
        upgraded = True
        while upgraded:
            upgraded = False
            overload = sorted(
                (load[j] - cap_of[size(j).name], j) for j in sites if load[j] > cap_of[size(j).name]
            )
            for _, j in reversed(overload):
                k = order[size(j).name] + 1
                if k >= len(templates) or not allowed_sizes[j][k]:
                    continue
                bigger = templates[k]
                extra = capex(j, bigger) - capex(j, size(j))
                if spent + extra <= budget:
                    chosen[j], spent, upgraded = bigger, spent + extra, True
                    break


# --------------------------------------------------------------------------- minutes by role


@dataclass(frozen=True)
class ServiceMix:
    """How a centre's appointments use its rooms: share, length and face-to-face share by role.

    A room is occupied only by face-to-face appointments, for as long as each lasts,
    so the room-minutes one appointment uses on average are
    ``sum_role share x face_to_face x minutes`` (:func:`room_minutes_per_appointment`).

    Attributes
    ----------
    share
        Share of appointments by clinical role (default: the skill mix of
        :class:`StaffingAssumptions`: GP 0.40, nurse 0.30, pharmacist 0.10, mental
        health 0.05, allied health 0.15).
    minutes
        Appointment length by role. Defaults: GP 15 (the BMA's recommended minimum
        [5]), nurse 15, pharmacist 20 (structured medication review), mental health
        50 (45-60 minute sessions), allied health 35 (30-40 minute sessions); the
        non-GP lengths are assumptions.
    face_to_face
        Share of each role's appointments held in a room at the centre (the rest by
        telephone, video or at home). Defaults: GP 0.65, nurse 0.90, pharmacist
        0.50, mental health 0.70, allied health 0.85 -- assumptions around the
        two-thirds face-to-face share of general-practice appointments [1].
    """

    share: Mapping[str, float] = field(
        default_factory=lambda: {
            "gp": 0.40,
            "nurse": 0.30,
            "pharmacist": 0.10,
            "mental_health": 0.05,
            "allied_health": 0.15,
        }
    )
    minutes: Mapping[str, float] = field(
        default_factory=lambda: {
            "gp": 15.0,
            "nurse": 15.0,
            "pharmacist": 20.0,
            "mental_health": 50.0,
            "allied_health": 35.0,
        }
    )
    face_to_face: Mapping[str, float] = field(
        default_factory=lambda: {
            "gp": 0.65,
            "nurse": 0.90,
            "pharmacist": 0.50,
            "mental_health": 0.70,
            "allied_health": 0.85,
        }
    )

    def __post_init__(self) -> None:
        clinical = set(ROLES[:-1])
        for name in ("share", "minutes", "face_to_face"):
            values = getattr(self, name)
            if set(values) != clinical or any(
                not (np.isfinite(v) and v >= 0) for v in values.values()
            ):
                msg = (
                    f"ServiceMix.{name} must give a finite value >= 0 for each of "
                    f"{sorted(clinical)}; found {dict(values)}"
                )
                raise ValueRangeError(msg)
        total = sum(self.share.values())
        if not np.isclose(total, 1.0):
            msg = f"ServiceMix.share must sum to 1; found {dict(self.share)} (sum {total:.4f})"
            raise ValueRangeError(msg)
        if any(v > 1 for v in self.face_to_face.values()):
            msg = f"ServiceMix.face_to_face shares must be <= 1; found {dict(self.face_to_face)}"
            raise ValueRangeError(msg)
        if room_minutes_per_appointment(self) <= 0:
            msg = (
                "ServiceMix: no appointment uses a room (all face-to-face shares or minutes are 0)"
            )
            raise ValueRangeError(msg)


def room_minutes_per_appointment(mix: ServiceMix | None = None) -> float:
    """Average room-minutes one appointment uses: ``sum_role share x face_to_face x minutes``.

    Examples
    --------
    >>> round(room_minutes_per_appointment(), 4)  # the default ServiceMix
    15.1625
    """
    mx = mix if mix is not None else ServiceMix()
    return float(sum(mx.share[r] * mx.face_to_face[r] * mx.minutes[r] for r in ROLES[:-1]))


def staffing_for_capacity(
    capacity: float | Sequence[float] | npt.ArrayLike,
    load: float | Sequence[float] | npt.ArrayLike | None = None,
    assumptions: StaffingAssumptions | None = None,
) -> pd.DataFrame:
    """Staff for the capacity a centre offers (or its load, when lower), never raw demand.

    A centre cannot deliver more appointments than its capacity, so it is staffed for
    ``min(load, capacity)`` (``capacity`` alone when ``load`` is None): demand beyond
    capacity is unmet, not a reason for more staff in rooms that do not exist.

    Parameters
    ----------
    capacity
        Weekly capacity per centre (appointments).
    load
        Weekly appointments each centre is planned to serve; None = full capacity.
    assumptions
        Skill mix and productivity (default :class:`StaffingAssumptions`).

    Returns
    -------
    pandas.DataFrame
        One row per centre, columns :data:`ROLES` (WTE).

    Examples
    --------
    >>> staffing_for_capacity([1000.0], load=[2500.0]).round(2).iloc[0]["gp"]
    np.float64(3.2)
    """
    cap = np.atleast_1d(np.asarray(capacity, dtype=float))
    served = cap if load is None else np.atleast_1d(np.asarray(load, dtype=float))
    if served.shape != cap.shape:
        msg = (
            "staffing_for_capacity: load must have one value per centre "
            f"({cap.size}); found {served.shape}"
        )
        raise ValueRangeError(msg)
    return staffing(np.minimum(served, cap), assumptions)


# --------------------------------------------------------------------------- the Plan's figures

#: Usual residents of England at Census 2021 [8].
ENGLAND_POPULATION_2021 = 56_490_048

#: National neighbourhood health centre targets by year [9].
NATIONAL_CENTRE_TARGETS: dict[int, int] = {2030: 120, 2035: 250}


@dataclass(frozen=True)
class SuggestedCentres:
    """A region's share of the national centre targets, as a suggested horizon and count.

    Attributes
    ----------
    year
        Target year.
    centres
        Suggested number of centres by ``year`` (``exact`` rounded half up, at least 1).
    exact
        ``national x population / England's population``.
    national
        National centres by ``year`` (interpolated between the targets).
    population_share
        The region's share of England's residents.
    horizon_years
        Years from ``start_year`` to ``year`` (the suggested number of periods).
    per_year
        Suggested new centres a year (``centres / horizon_years``, rounded up).
    note
        One sentence for the app and ``scenario --describe``.
    """

    year: int
    centres: int
    exact: float
    national: float
    population_share: float
    horizon_years: int
    per_year: int
    note: str


def suggested_centres(
    population: float, year: int = 2030, *, start_year: int = 2026
) -> SuggestedCentres:
    """The region's population share of the national NHC targets (120 by 2030, 250 by 2035).

    Between the target years the national figure is interpolated linearly; before
    2030 it grows linearly from 0 in ``start_year - 1``; after 2035 it stays at 250.

    Parameters
    ----------
    population
        Residents of the planning region.
    year
        Target year (>= ``start_year``).
    start_year
        First year of the plan (period 1).

    Returns
    -------
    SuggestedCentres

    Examples
    --------
    >>> s = suggested_centres(2_400_000, 2030)  # a large ICB
    >>> s.centres, round(s.exact, 2), s.horizon_years, s.per_year
    (5, 5.1, 5, 1)
    >>> suggested_centres(2_400_000, 2035).centres
    11
    """
    if not (np.isfinite(population) and population >= 0):
        msg = f"suggested_centres: population must be a number >= 0; found {population!r}"
        raise ValueRangeError(msg)
    if int(year) != year or year < start_year:
        msg = (
            f"suggested_centres: year must be a whole year >= start_year ({start_year}); "
            f"found {year!r}"
        )
        raise ValueRangeError(msg)
    years = sorted(NATIONAL_CENTRE_TARGETS)
    first = years[0]
    if year <= first:
        base = start_year - 1
        national = NATIONAL_CENTRE_TARGETS[first] * (year - base) / (first - base)
    else:
        national = float(np.interp(year, years, [NATIONAL_CENTRE_TARGETS[y] for y in years]))
    share = float(population) / ENGLAND_POPULATION_2021
    exact = national * share
    centres = max(int(np.floor(exact + 0.5)), 1)
    horizon = int(year) - start_year + 1
    per_year = int(np.ceil(centres / horizon))
    note = (
        f"The Plan's {national:.0f} neighbourhood health centres in England by {year}, shared "
        f"by population ({population:,.0f} residents = {share:.2%} of England's "
        f"{ENGLAND_POPULATION_2021:,} at Census 2021), suggest about {centres} centre(s) here "
        f"over {horizon} year(s) ({per_year} a year)."
    )
    return SuggestedCentres(int(year), centres, exact, national, share, horizon, per_year, note)


# --------------------------------------------------------------------------- unmet demand


@dataclass(frozen=True, eq=False)
class UnmetDemandTables:
    """Unmet weekly demand by area, IMD decile, HLE fifth and local authority.

    Every table has ``demand`` (weekly appointments), ``unmet`` (weekly appointments
    no centre can serve within its capacity and the standard), ``unmet_share``
    (``unmet / demand``) and ``population``; the grouped tables add ``areas`` and
    ``areas_with_unmet`` (areas with more than half an appointment a week unmet).

    Attributes
    ----------
    by_area
        One row per area: ``area_code``, ``la_code``, ``imd_decile``,
        ``hle_quintile`` and the columns above.
    by_imd_decile
        One row per IMD decile (1 = most deprived).
    by_hle_quintile
        One row per HLE fifth (1 = lowest healthy life expectancy).
    by_authority
        One row per local authority (``la_code``, ``la_name`` when known).
    total
        Unmet weekly appointments over the region.
    """

    by_area: pd.DataFrame
    by_imd_decile: pd.DataFrame
    by_hle_quintile: pd.DataFrame
    by_authority: pd.DataFrame
    total: float


def unmet_demand_tables(
    areas: pd.DataFrame,
    unmet: npt.ArrayLike,
    demand: npt.ArrayLike | None = None,
) -> UnmetDemandTables:
    """Tables of unmet demand for the plan and the report.

    Parameters
    ----------
    areas
        The areas table (``area_code``, ``la_code``, ``population``, ``imd_decile``;
        ``la_name``, ``hle_quintile`` or ``hle_years`` when present; the age bands
        when ``demand`` is None).
    unmet
        Weekly appointments unmet per area, in the order of ``areas`` (e.g. the last
        column of :attr:`~nhc_planner.optimize.capacitated_phased.CapacitatedPhasedResult.unmet`).
    demand
        Weekly appointments per area; default :func:`weekly_demand` of ``areas``.

    Returns
    -------
    UnmetDemandTables

    Examples
    --------
    >>> areas = pd.DataFrame({"area_code": ["A", "B"], "la_code": ["L1", "L1"],
    ...                       "population": [100.0, 200.0], "imd_decile": [1, 10],
    ...                       "hle_years": [55.0, 70.0]})
    >>> t = unmet_demand_tables(areas, [5.0, 0.0], demand=[10.0, 20.0])
    >>> t.by_imd_decile[["imd_decile", "unmet", "unmet_share"]].to_dict("records")
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'imd_decile': 1, 'unmet': 5.0, 'unmet_share': 0.5},
     {'imd_decile': 10, 'unmet': 0.0, 'unmet_share': 0.0}]
    >>> float(t.total)
    5.0
    """
    n = len(areas)
    for col in ("area_code", "la_code", "population", "imd_decile"):
        if col not in areas:
            msg = (
                f"unmet_demand_tables: column {col!r} not found in areas; "
                f"found {list(areas.columns)}"
            )
            raise MissingColumnError(msg)
    u = np.asarray(unmet, dtype=float).reshape(-1)
    d = weekly_demand(areas) if demand is None else np.asarray(demand, dtype=float).reshape(-1)
    if u.shape != (n,) or d.shape != (n,):
        msg = (
            f"unmet_demand_tables: expected one unmet and one demand value per area ({n}); "
            f"found {u.shape[0]} and {d.shape[0]}"
        )
        raise ValueRangeError(msg)
    if np.any(~np.isfinite(u)) or np.any(u < -1e-9) or np.any(u > d + 1e-6 * np.maximum(d, 1.0)):
        msg = "unmet_demand_tables: unmet must be finite, >= 0 and at most the area's demand"
        raise ValueRangeError(msg)
    pop = np.asarray(areas["population"], dtype=float)
    if "hle_quintile" in areas:
        hq = np.asarray(areas["hle_quintile"])
    elif "hle_years" in areas:
        from nhc_planner.need import hle_quintiles  # local: need imports the scenario module

        hq = hle_quintiles(np.asarray(areas["hle_years"], float), pop)
    else:
        hq = np.zeros(n, dtype=int)
    by_area = pd.DataFrame(
        {
            "area_code": np.asarray(areas["area_code"]),
            "la_code": np.asarray(areas["la_code"]),
            "imd_decile": np.asarray(areas["imd_decile"]),
            "hle_quintile": hq,
            "population": pop,
            "demand": d,
            "unmet": np.clip(u, 0.0, None),
        }
    )
    if "la_name" in areas:
        by_area.insert(2, "la_name", np.asarray(areas["la_name"]))
    by_area["unmet_share"] = np.where(d > 0, by_area["unmet"] / np.where(d > 0, d, 1.0), 0.0)

    def grouped(keys: list[str]) -> pd.DataFrame:
        g = by_area.assign(with_unmet=by_area["unmet"] > 0.5).groupby(keys, sort=True)
        out = g.agg(
            areas=("area_code", "size"),
            areas_with_unmet=("with_unmet", "sum"),
            population=("population", "sum"),
            demand=("demand", "sum"),
            unmet=("unmet", "sum"),
        ).reset_index()
        out["unmet_share"] = np.where(
            out["demand"] > 0, out["unmet"] / out["demand"].where(out["demand"] > 0, 1.0), 0.0
        )
        return out

    la_keys = ["la_code", "la_name"] if "la_name" in by_area else ["la_code"]
    return UnmetDemandTables(
        by_area=by_area,
        by_imd_decile=grouped(["imd_decile"]),
        by_hle_quintile=grouped(["hle_quintile"]),
        by_authority=grouped(la_keys),
        total=float(by_area["unmet"].sum()),
    )
