"""The operator's policy file: defaults are safe, typos fail loudly, relative paths anchor at the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumen_ext.security.paths import find_project_root
from lumen_ext.security.policy import DEFAULT_ALLOWED_IMPORTS, Policy, PolicyError, load_policy


def test_defaults_are_safe():
    policy = load_policy(None)
    assert policy == Policy()
    assert not (
        policy.dev or policy.allow_editable or policy.allow_local_modules or policy.duckdb_external_access
    )
    assert policy.allowed_env == () and policy.allowed_callbacks == () and policy.allowed_dirs == ()
    assert "file" not in policy.allowed_url_schemes


def test_toml_file(tmp_path: Path):
    (tmp_path / "data").mkdir()
    path = tmp_path / "policy.toml"
    path.write_text(
        'allowed_imports = ["my_company.views"]\nallowed_dirs = ["data"]\nallowed_env = ["TOKEN"]\n'
        "allow_editable = true\n"
    )
    policy = load_policy(path)
    assert policy.allowed_imports == (*DEFAULT_ALLOWED_IMPORTS, "my_company.views")
    assert policy.allowed_dirs == ((tmp_path / "data").resolve(),)
    assert policy.allowed_env == ("TOKEN",)
    assert policy.allow_editable is True
    assert policy.source == path.resolve()


def test_yaml_file_and_nested_table(tmp_path: Path):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "lumen_ext:\n  security:\n    allowed_imports: [acme]\n    replace_default_imports: true\n"
    )
    assert load_policy(path).allowed_imports == ("acme",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('allowed_dir = ["x"]', "unknown setting 'allowed_dir' (did you mean 'allowed_dirs'?)"),
        ('dev = "yes"', "'dev' must be true or false"),
        ('allowed_imports = "acme"', "'allowed_imports' must be a list of strings"),
        ('allowed_imports = ["acme; rm"]', "is not a dotted module name"),
        ('allowed_url_schemes = ["file"]', "'file' URLs cannot be allowed"),
        ("dev = ", "policy.toml"),
    ],
    ids=["typo", "bool", "list", "module", "file-scheme", "syntax"],
)
def test_bad_files_fail_loudly(tmp_path: Path, text: str, message: str):
    path = tmp_path / "policy.toml"
    path.write_text(text + "\n")
    with pytest.raises(PolicyError, match=None) as info:
        load_policy(path)
    assert message in str(info.value)


def test_unknown_suffix_and_missing_file(tmp_path: Path):
    with pytest.raises(PolicyError, match="must end in"):
        load_policy(tmp_path / "policy.ini")
    with pytest.raises(PolicyError, match="No such file"):
        load_policy(tmp_path / "missing.toml")


def test_project_root_is_found_from_markers(tmp_path: Path):
    specs = tmp_path / "proj" / "specs"
    specs.mkdir(parents=True)
    assert find_project_root(specs) == specs.resolve()
    (tmp_path / "proj" / "pyproject.toml").write_text("")
    assert find_project_root(specs) == (tmp_path / "proj").resolve()
    assert Policy().roots(specs)[0] == (tmp_path / "proj").resolve()
    assert Policy(project_root=specs).roots(specs) == (specs.resolve(),)
