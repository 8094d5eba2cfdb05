"""course.mystery: every cause's recipe is broken as planted and healed by its fix; ids are
opaque but stable; a fix is validated with a clear error."""

from __future__ import annotations

import pytest

from course.clinic import CASES
from course.mystery import (
    BROKEN,
    HEALTHY,
    KNOBS,
    REFERENCE_FIX,
    _key,
    check_fix,
    mystery,
    train_recipe,
    trains,
)


def test_the_recipes_cover_the_clinic_causes_in_its_order():
    assert list(BROKEN) == [case.key for case in CASES] == list(REFERENCE_FIX)
    assert all(set(fix) <= set(KNOBS) for fix in REFERENCE_FIX.values())


@pytest.mark.parametrize("cause", list(BROKEN))
def test_each_broken_recipe_fails_to_train_and_its_fix_trains(cause):
    assert not trains(train_recipe({**HEALTHY, **BROKEN[cause]}))
    assert trains(train_recipe({**HEALTHY, **BROKEN[cause], **REFERENCE_FIX[cause]}))


def test_ids_map_to_causes_by_hash_and_reach_every_cause():
    assert _key("da26") == "orphaned_optimizer" and _key("b44c") == "accumulation"
    assert {_key(f"{i:04x}") for i in range(200)} == set(BROKEN)
    assert repr(mystery("da26")) == "Mystery('da26')"


def test_heals_needs_the_right_cause_and_a_fix_that_trains():
    run = mystery("b44c")
    assert run.heals("accumulation", {"zero_grad": True})
    assert not run.heals("lr_too_high", {"zero_grad": True})
    assert not run.heals("accumulation", {"lr": 0.01})


def test_a_fix_must_be_a_dict_of_known_knobs():
    with pytest.raises(TypeError, match="dict knob -> new value"):
        check_fix("lower the learning rate")
    with pytest.raises(KeyError, match="unknown knob"):
        check_fix({"learning_rate": 0.1})
    with pytest.raises(ValueError, match="knob 'standardise'"):
        check_fix({"standardise": "yes"})
    with pytest.raises(TypeError, match="case_id"):
        mystery(26)
