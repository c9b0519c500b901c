# Create (or bring up to date) the virtual environment with exactly the locked
# dependencies, on Windows. Safe to re-run. Uses uv when it is installed; otherwise
# python -m venv + pip with requirements-dev.txt (exported from uv.lock, with hashes).
#
#   powershell -ExecutionPolicy Bypass -File scripts\bootstrap.ps1
#
# Environment: VENV (default .venv), PYTHON (default py -3 launcher, else python),
# BOOTSTRAP_NO_UV=1 to force the pip path.
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$MinPython = "{{ cookiecutter.python_version }}"
$Venv = if ($env:VENV) { $env:VENV } else { ".venv" }

function Fail([string]$Message) {
    Write-Error "bootstrap: $Message" -ErrorAction Continue
    exit 1
}

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { Fail "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

Set-Location (Split-Path -Parent $PSScriptRoot)

# Pick the interpreter: $env:PYTHON, else the py launcher's newest Python 3, else python.
if ($env:PYTHON) {
    $Python = $env:PYTHON; $PythonArgs = @()
} elseif (Get-Command py -ErrorAction SilentlyContinue) {
    $Python = "py"; $PythonArgs = @("-3")
} elseif (Get-Command python -ErrorAction SilentlyContinue) {
    $Python = "python"; $PythonArgs = @()
} else {
    Fail "Python not found. Install Python >= $MinPython from python.org (tick 'Add to PATH') or set PYTHON"
}

$Check = 'import sys; want = tuple(map(int, sys.argv[1].split("."))); sys.exit(sys.version_info[:2] < want)'
& $Python @PythonArgs -c $Check $MinPython
if ($LASTEXITCODE -ne 0) {
    $Found = & $Python @PythonArgs -c "import platform; print(platform.python_version())"
    Fail "$Python is Python $Found; this project needs >= $MinPython. Set PYTHON to a newer python.exe"
}

if (-not $env:BOOTSTRAP_NO_UV -and (Get-Command uv -ErrorAction SilentlyContinue)) {
    Write-Host "bootstrap: uv sync into $Venv"
    $env:UV_PROJECT_ENVIRONMENT = $Venv
    $Interpreter = & $Python @PythonArgs -c "import sys; print(sys.executable)"
    Invoke-Checked "uv" @("sync", "--locked", "--python", $Interpreter)
    exit 0
}

$VenvPython = Join-Path $Venv "Scripts\python.exe"
# A venv whose interpreter no longer runs (Python upgraded or removed) is rebuilt.
if ((Test-Path $Venv) -and -not (Test-Path $VenvPython)) {
    Write-Host "bootstrap: $Venv is broken, recreating it"
    Remove-Item -Recurse -Force $Venv
}
if (-not (Test-Path $Venv)) {
    Write-Host "bootstrap: creating $Venv"
    Invoke-Checked $Python ($PythonArgs + @("-m", "venv", $Venv))
}
Write-Host "bootstrap: pip install -r requirements-dev.txt into $Venv (install uv for faster, exact syncs)"
Invoke-Checked $VenvPython @("-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes", "-r", "requirements-dev.txt")
Invoke-Checked $VenvPython @("-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--editable", ".")
