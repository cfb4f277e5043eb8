"""goTemplate is Go's own text/template + Sprig, run as hostile input: no env, no files, no network,
a deadline and a memory cap. Needs only the toolchain (the renderer is built there), no cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitward.appset.gotemplate import GoTemplateError, GoTemplates, Job
from gitward.appset.params import go_text
from gitward.localkube import Toolchain


@pytest.fixture(scope="module")
def go(toolchain: Toolchain) -> GoTemplates:
    return GoTemplates.find(toolchain.bin_dir)


async def one(go: GoTemplates, tree: object, params: dict, options: tuple[str, ...] = ()) -> object:
    (result,) = (await go.render([Job(tree, [params], options)]))[0]
    assert not result.error, result.error
    return result.value


async def test_sprig_functions_argo_cd_users_rely_on(go: GoTemplates) -> None:
    params = {"name": "Prod_EU", "cfg": {"replicas": 3, "zones": ["a", "b"]}}
    tree = {
        "lower": "{{ .name | lower }}",
        "replace": '{{ replace "_" "-" .name }}',
        "default": '{{ .missing | default "fallback" }}',
        "toYaml": "{{ toYaml .cfg }}",
        "normalize": "{{ normalize .name }}",
        "slugify": "{{ slugify .name }}",
        "number": "{{ .cfg.replicas }}",
        "{{ .name | lower }}-key": "map keys are templated too",
    }
    assert await one(go, tree, params) == {
        "lower": "prod_eu",
        "replace": "Prod-EU",
        "default": "fallback",
        "toYaml": "replicas: 3\nzones:\n- a\n- b",
        "normalize": "prod-eu",
        "slugify": "prod-eu",
        "number": "3",
        "prod_eu-key": "map keys are templated too",
    }


async def test_missing_keys_print_no_value_or_fail_with_missingkey_error(go: GoTemplates) -> None:
    assert await one(go, "{{ .nope }}", {"a": 1}) == "<no value>"  # Argo CD's output too
    (result,) = (await go.render([Job("{{ .nope }}", [{"a": 1}], ("missingkey=error",))]))[0]
    assert 'map has no entry for key "nope"' in result.error


@pytest.mark.parametrize("function", ["env", "expandenv", "getHostByName"])
async def test_functions_that_reach_the_environment_do_not_exist(
    go: GoTemplates, function: str
) -> None:
    (result,) = (await go.render([Job(f'{{{{ {function} "HOME" }}}}', [{"a": 1}])]))[0]
    assert f'function "{function}" not defined' in result.error


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=40))
async def test_python_prints_numbers_exactly_as_go_does(
    go: GoTemplates, values: list[float]
) -> None:
    results = (await go.render([Job("{{ .x }}", [{"x": v} for v in values])]))[0]
    for value, rendered in zip(values, results, strict=True):
        assert rendered.value == go_text(value), value


async def test_a_template_that_runs_too_long_is_stopped(toolchain: Toolchain) -> None:
    slow = GoTemplates(GoTemplates.find(toolchain.bin_dir).binary, timeout=1.0)
    loop = "{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}"
    with pytest.raises(GoTemplateError, match="longer than 1 s"):
        await slow.render([Job(loop, [{"a": 1}])])


async def test_a_template_that_eats_memory_fails_cleanly(go: GoTemplates) -> None:
    with pytest.raises(GoTemplateError, match="out of memory") as caught:
        await go.render([Job("{{ len (until 500000000) }}", [{"a": 1}])])
    assert len(str(caught.value)) < 500  # one line, not the runtime's goroutine dump


async def test_without_the_binary_the_error_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(GoTemplateError, match="make toolchain"):
        await GoTemplates(None).render([Job("x", [{"a": 1}])])
    plain = tmp_path / "not-a-program"
    plain.write_text("x")
    plain.chmod(0o644)
    with pytest.raises(GoTemplateError, match="not an executable"):
        await GoTemplates(plain).render([Job("x", [{"a": 1}])])
