"""classroom.yml: the real file is valid, and each kind of mistake names its key."""

import copy

import pytest
import yaml

from grader.course import CourseConfigError, load_course, parse_course

from .conftest import copy_of_course


def test_the_shipped_manifest_is_valid_and_lists_20_modules(layout):
    course = load_course(layout.manifest)
    assert [m.number for m in course.modules] == list(range(1, 21))
    assert course.module("01").dirname == "01_tensor"
    assert course.module("05_autograd").slug == "autograd"
    assert course.policies.prerequisites_from in ("reference", "submission")


@pytest.mark.parametrize("key", ["5", "05", "05_autograd", "autograd", " Autograd "])
def test_a_module_is_found_by_number_folder_name_or_slug(layout, key):
    assert load_course(layout.manifest).module(key).dirname == "05_autograd"


@pytest.mark.parametrize("key", ["autograd5", "05_tensor", "21", ""])
def test_an_unknown_module_name_lists_the_known_ones(layout, key):
    with pytest.raises(CourseConfigError, match="known: 01, 02"):
        load_course(layout.manifest).module(key)


@pytest.fixture
def raw(layout):
    return yaml.safe_load(layout.manifest.read_text())


def _edit(raw, path, value):
    data = copy.deepcopy(raw)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


BAD_EDITS = [
    (("modules", 0, "due"), "next week", r"modules\[0\]\.due: expected a date"),
    (("modules", 1, "points"), "lots", r"modules\[1\]\.points: expected a number"),
    (("modules", 2, "slug"), "Layers!", r"modules\[2\]\.slug"),
    (("modules", 3, "prerequisites"), [99], r"modules\[3\]\.prerequisites"),
    (
        ("modules", 4, "number"),
        1,
        r"modules\[4\]\.number: expected a number used by no other module",
    ),
    (("modules", 0, "title"), KeyError, r"modules\[0\]\.title: expected a value"),
    (("modules", 0, "colour"), "red", r"modules\[0\]\.colour: expected only the keys"),
    (("grading", "prerequisites_from"), "friends", r"grading\.prerequisites_from: expected one of"),
    (("grading", "time_limit_seconds"), -3, r"grading\.time_limit_seconds"),
    (("grading", "memory_limit_mb"), "2GB", r"grading\.memory_limit_mb"),
    (
        ("late_policy", "penalty_per_day"),
        2,
        r"late_policy\.penalty_per_day: expected a number from 0 to 1",
    ),
    (
        ("unlock", "require_prerequisites"),
        "yes",
        r"unlock\.require_prerequisites: expected true or false",
    ),
    (("course", "timezone"), "Mars/Olympus", r"course\.timezone"),
    (("modules",), [], r"modules: expected a non-empty list"),
]


@pytest.mark.parametrize(
    "path, value, message", BAD_EDITS, ids=[".".join(map(str, e[0])) for e in BAD_EDITS]
)
def test_each_mistake_names_the_key_and_what_was_expected(raw, path, value, message):
    with pytest.raises(CourseConfigError, match=message):
        parse_course(_edit(raw, path, value))


def test_due_before_release_is_rejected(raw):
    data = _edit(raw, ("modules", 0, "due"), "2026-01-01")
    with pytest.raises(CourseConfigError, match=r"modules\[0\]\.due: expected a date on or after"):
        parse_course(data)


def test_unreadable_and_missing_files_give_clear_errors(tmp_path):
    with pytest.raises(CourseConfigError, match="file not found"):
        load_course(tmp_path / "classroom.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("modules: [\n  - number: 1\n")
    with pytest.raises(CourseConfigError, match="not valid YAML"):
        load_course(broken)
    listy = tmp_path / "list.yml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(CourseConfigError, match="the top level: expected a mapping"):
        load_course(listy)


def test_cli_reports_config_errors_without_a_traceback(tmp_path, capsys):
    from grader.cli import main

    (tmp_path / "classroom.yml").write_text("course: {name: x}\nmodules: nope\n")
    assert main(["--root", str(tmp_path), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "modules: expected a non-empty list" in err and "Traceback" not in err


def test_grading_a_module_that_is_not_built_yet_says_so(tmp_path, capsys):
    """A module classroom.yml lists but whose tests the course has not published."""
    from grader.cli import main

    copy_of_course(tmp_path).starter.mkdir()  # no module's tests are published here
    assert main(["--root", str(tmp_path), "grade", "--module", "16"]) == 2
    err = capsys.readouterr().err
    assert "module 16 (Acceleration) is not published yet" in err
    assert "cannot be unlocked or graded" in err
    assert "Traceback" not in err
