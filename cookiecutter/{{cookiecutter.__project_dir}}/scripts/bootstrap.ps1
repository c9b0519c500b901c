# Create (or bring up to date) the virtual environment with exactly the locked
# dependencies, on Windows; the same steps as scripts/bootstrap.sh. Safe to re-run.
# Works in Windows PowerShell 5.1 and PowerShell 7:
#
#   powershell -ExecutionPolicy Bypass -File scripts\bootstrap.ps1
#
# The fastest way available is taken, and named: uv from PATH; else the venv's own uv
# from an earlier run; else pip installs the locked uv into a new venv and that uv syncs
# the lock; else pip alone with requirements-dev.txt. The servers' packages (the app
# server, Ansible) are left out on Windows: they only run on Linux.
#
# Environment: VENV (default .venv), PYTHON (default: the py launcher's newest Python 3,
# else python), BOOTSTRAP_NO_UV=1 to ignore a uv on PATH, BOOTSTRAP_PIP_ONLY=1 for pip alone.
#
# Windows PowerShell 5.1 passes double quotes inside an argument to a native program
# unescaped (the program sees them removed), so no argument below contains one.
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$MinPython = "{{ cookiecutter.python_version }}"
$Venv = if ($env:VENV) { $env:VENV } else { ".venv" }
$VenvPython = Join-Path $Venv "Scripts\python.exe"
$VenvUv = Join-Path $Venv "Scripts\uv.exe"
$UvHint = "install uv for bootstraps in under a second: https://docs.astral.sh/uv/getting-started/installation/"

function Fail([string]$Message) {
    [Console]::Error.WriteLine("bootstrap: $Message")
    exit 1
}

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { Fail "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

# True when the program exists and `program --version` succeeds.
function Test-Runs([string]$Exe) {
    if (-not (Test-Path $Exe)) { return $false }
    try { & $Exe --version | Out-Null } catch { return $false }
    return $LASTEXITCODE -eq 0
}

function Invoke-UvSync([string]$Uv) {
    $env:UV_PROJECT_ENVIRONMENT = $Venv
    Invoke-Checked $Uv @("sync", "--locked", "--python", $Interpreter)
}

# The venv's own uv, run from a copy: Windows cannot replace a running .exe, and the
# sync may update the venv's uv to the locked version.
function Invoke-VenvUvSync {
    $Copy = Join-Path ([IO.Path]::GetTempPath()) "bootstrap-uv-$PID.exe"
    Copy-Item $VenvUv $Copy -Force
    try { Invoke-UvSync $Copy } finally { Remove-Item $Copy -ErrorAction SilentlyContinue }
}

function Invoke-Pip([string[]]$Arguments) {
    Invoke-Checked $VenvPython (@("-m", "pip", "install", "--quiet", "--disable-pip-version-check") + $Arguments)
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

# Checks the version and prints the interpreter's full path (uv is given that path).
$Interpreter = & $Python @PythonArgs scripts\check_python.py $MinPython
if ($LASTEXITCODE -ne 0) { Fail "set PYTHON to python.exe $MinPython or newer" }

if (-not $env:BOOTSTRAP_PIP_ONLY) {
    if (-not $env:BOOTSTRAP_NO_UV -and (Get-Command uv -ErrorAction SilentlyContinue)) {
        Write-Host "bootstrap: uv sync into $Venv (uv from PATH)"
        Invoke-UvSync "uv"
        exit 0
    }
    if (Test-Runs $VenvUv) {
        Write-Host "bootstrap: uv sync into $Venv (the uv in $Venv; $UvHint)"
        Invoke-VenvUvSync
        exit 0
    }
}

# A venv whose interpreter no longer runs (Python upgraded or removed) is rebuilt.
if ((Test-Path $Venv) -and -not (Test-Runs $VenvPython)) {
    Write-Host "bootstrap: $Venv is broken, recreating it"
    Remove-Item -Recurse -Force $Venv
}
if (-not (Test-Path $Venv)) {
    Write-Host "bootstrap: creating $Venv with $Interpreter -m venv"
    Invoke-Checked $Interpreter @("-m", "venv", $Venv)
}

if (-not $env:BOOTSTRAP_PIP_ONLY) {
    # The uv requirement and its hashes, exactly as locked in requirements-dev.txt.
    $Requirement = @()
    $Continued = $false
    foreach ($Line in Get-Content requirements-dev.txt) {
        if ($Line.StartsWith("uv==") -or $Continued) {
            $Requirement += $Line
            $Continued = $Line.EndsWith("\")
            if (-not $Continued) { break }
        }
    }
    $RequirementFile = Join-Path ([IO.Path]::GetTempPath()) "bootstrap-uv-$PID.txt"
    Set-Content -Path $RequirementFile -Value $Requirement
    Write-Host "bootstrap: uv not found: pip installs the locked uv into $Venv, then uv syncs ($UvHint)"
    & $VenvPython -m pip install --quiet --disable-pip-version-check --require-hashes -r $RequirementFile
    $Installed = $LASTEXITCODE -eq 0
    Remove-Item $RequirementFile -ErrorAction SilentlyContinue
    if ($Installed -and (Test-Runs $VenvUv)) {
        Invoke-VenvUvSync
        exit 0
    }
    Write-Host "bootstrap: uv could not be installed here; falling back to pip alone"
}

Write-Host "bootstrap: pip install -r requirements-dev.txt into $Venv (slower; $UvHint)"
Invoke-Pip @("--require-hashes", "-r", "requirements-dev.txt")
Invoke-Pip @("--no-deps", "--editable", ".")
