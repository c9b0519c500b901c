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

# Runs a native program, its output shown (or dropped with -Quiet); true when it exits 0.
# The exit code is what counts: where the host captures stderr (the ISE), 5.1 turns each
# stderr line into an error record, which must not stop the script (uv reports progress
# on stderr). Out-Host keeps the program's output out of the function's return value.
function Invoke-Native([string]$Exe, [string[]]$Arguments, [switch]$Quiet) {
    $ErrorActionPreference = "Continue"
    if ($Quiet) { & $Exe @Arguments | Out-Null } else { & $Exe @Arguments | Out-Host }
    return $LASTEXITCODE -eq 0
}

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    if (-not (Invoke-Native $Exe $Arguments)) {
        Fail "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE"
    }
}

# True when the program exists and runs: `program --version`, or the arguments given.
function Test-Runs([string]$Exe, [string[]]$Arguments = @("--version")) {
    if (-not (Test-Path $Exe)) { return $false }
    try { return Invoke-Native $Exe $Arguments -Quiet } catch { return $false }
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

$PipInstall = @("-m", "pip", "install", "--quiet", "--disable-pip-version-check")

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

# Checks the version and prints the interpreter's full path (uv is given that path), in
# UTF-8 both ways: a path like C:\Users\José\... must not come back in the console's
# code page. (A host without a console cannot change its encoding, and needs not.)
$env:PYTHONIOENCODING = "utf-8"
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
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

# A venv whose interpreter no longer runs (Python upgraded or removed), or that has no
# pip, is rebuilt.
if ((Test-Path $Venv) -and -not (Test-Runs $VenvPython @("-m", "pip", "--version"))) {
    Write-Host "bootstrap: $Venv is broken, recreating it"
    Remove-Item -Recurse -Force $Venv
}
if (-not (Test-Path $Venv)) {
    Write-Host "bootstrap: creating $Venv with $Interpreter -m venv"
    if (-not (Invoke-Native $Interpreter @("-m", "venv", $Venv))) {
        Remove-Item -Recurse -Force $Venv -ErrorAction SilentlyContinue
        Fail "could not create $Venv with $Interpreter"
    }
}

# requirements-dev.txt split in two: the uv requirement with its hashes, and the rest.
$UvLines = @()
$OtherLines = @()
$InUv = $false
foreach ($Line in Get-Content requirements-dev.txt) {
    if ($Line -match "^[^ #]") { $InUv = $Line.StartsWith("uv==") }
    if ($InUv) { $UvLines += $Line } else { $OtherLines += $Line }
}
$UvRequirement = Join-Path ([IO.Path]::GetTempPath()) "bootstrap-uv-$PID.txt"
$OtherRequirements = Join-Path ([IO.Path]::GetTempPath()) "bootstrap-rest-$PID.txt"
Set-Content -Path $UvRequirement -Value $UvLines
Set-Content -Path $OtherRequirements -Value $OtherLines
# --only-binary: where uv has no wheel, pip would try to compile it (Rust) instead.
$InstallUv = $PipInstall + @("--only-binary", "uv", "--require-hashes", "-r", $UvRequirement)

try {
    if (-not $env:BOOTSTRAP_PIP_ONLY) {
        Write-Host "bootstrap: uv not found: pip installs the locked uv into $Venv, then uv syncs ($UvHint)"
        if ((Invoke-Native $VenvPython $InstallUv) -and (Test-Runs $VenvUv)) {
            Invoke-VenvUvSync
            exit 0
        }
        Write-Host "bootstrap: pip could not install uv (see above); trying pip alone"
    }

    Write-Host "bootstrap: pip install -r requirements-dev.txt into $Venv (slower; $UvHint)"
    Invoke-Checked $VenvPython ($PipInstall + @("--require-hashes", "-r", $OtherRequirements))
    Invoke-Checked $VenvPython ($PipInstall + @("--no-deps", "--editable", "."))
    if (-not (Test-Runs $VenvUv) -and -not (Invoke-Native $VenvPython $InstallUv)) {
        Write-Host "bootstrap: $Venv has no uv: make lock and make deploy need one ($UvHint)"
    }
} finally {
    Remove-Item $UvRequirement, $OtherRequirements -ErrorAction SilentlyContinue
}
