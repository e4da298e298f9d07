"""The package's declared dependencies: ranges an environment's own torch can meet, met by the pins the scripts
install."""

import tomllib

from packaging.requirements import Requirement

from conftest import ROOT


def pins() -> dict[str, str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    named = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {requirement.name.lower(): next(iter(requirement.specifier)).version for requirement in named}


def test_the_package_declares_ranges_that_the_pinned_versions_meet():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = pins()
    for requirement in map(Requirement, declared):
        assert not any(spec.operator == "==" for spec in requirement.specifier), \
            f"{requirement}: an exact pin clashes with the version an environment already has"
        assert requirement.specifier.contains(pinned[requirement.name.lower()]), (requirement, pinned)
