"""scripts/bootstrap.ps1 is valid PowerShell and safe under Windows PowerShell 5.1."""

import pytest
from conftest import SERVER_PAIRS
from powershell import ps51_problems, syntax_errors


@pytest.mark.parametrize("app_server", sorted({app for _, app in SERVER_PAIRS}))
def test_bootstrap_ps1_parses_and_passes_nothing_5_1_would_mangle(rendered, app_server):
    web_server = "apache" if app_server == "mod_wsgi" else "nginx"
    script = rendered(app_server=app_server, web_server=web_server) / "scripts/bootstrap.ps1"
    source = script.read_text()
    assert syntax_errors(source) == []
    assert ps51_problems(source) == []
    # The version check runs from a file, not from quoted code on the command line.
    assert "scripts\\check_python.py $MinPython" in source


@pytest.mark.parametrize("broken", [
    "function Fail {\n    exit 1\n",
    'Write-Host "no end\n',
    "if ($x -eq 1 {\n    exit 1\n}\n",
    "$list = @(1, 2\n",
])
def test_a_syntax_error_is_found(broken):
    assert syntax_errors(broken)


@pytest.mark.parametrize("unsafe", [
    """$Check = 'import sys; print(sys.argv[1].split("."))'""",
    '& $Python -c $Check 3.11',
    '$Arguments = @("-c", $Code)',
    'Write-Host "say `"hi`""',
    'uv sync && exit 0',
])
def test_what_5_1_would_mangle_is_found(unsafe):
    assert syntax_errors(unsafe) == []
    assert ps51_problems(unsafe)
