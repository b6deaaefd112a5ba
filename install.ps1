<#
.SYNOPSIS
Install docker-charmcraft.exe where the docker CLI (Docker Desktop) finds plugins on Windows.

.DESCRIPTION
With -Version or -Url, downloads a release's docker-charmcraft-windows-<arch>.exe
and its SHA256SUMS, and installs it only if the two agree. Otherwise takes
dist\docker-charmcraft-windows-<arch>.exe (from `make release`; another
directory with $env:CHARMCRAFT_DIST) when it is there and matches
dist\SHA256SUMS, else builds with Go in a source tree, else downloads the
latest release. Releases come from $env:CHARMCRAFT_RELEASES_URL, by default
https://github.com/canonical/docker-charmcraft/releases. Installs it as
docker-charmcraft.exe into $env:DOCKER_CONFIG\cli-plugins, else
%USERPROFILE%\.docker\cli-plugins, then checks `docker charmcraft --help`.
Running it again replaces the installed plugin.

.PARAMETER Version
Download and install this release (v1.2.0, or latest).

.PARAMETER Url
Download and install the release whose files are at this URL.

.PARAMETER FromSource
Build with Go even when dist\ holds a prebuilt plugin.

.EXAMPLE
powershell -ExecutionPolicy Bypass -File .\install.ps1 -Version latest
#>
[CmdletBinding()]
param(
    [string]$Version,
    [string]$Url,
    [switch]$FromSource
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

function Fail([string]$Message) {
    [Console]::Error.WriteLine("install.ps1: $Message")
    exit 1
}

if ($Version -and $Url) { Fail 'give -Version or -Url, not both' }
if ($FromSource -and ($Version -or $Url)) { Fail '-FromSource builds here: it takes no -Version or -Url' }

# Run from a pipe (irm ... | iex) there is no script directory.
$here = if ($PSScriptRoot) { $PSScriptRoot } else { (Get-Location).Path }
$dist = if ($env:CHARMCRAFT_DIST) { $env:CHARMCRAFT_DIST } else { Join-Path $here 'dist' }
$sourceTree = (Test-Path -LiteralPath (Join-Path $here 'go.mod')) -and (Test-Path -LiteralPath (Join-Path $here 'cmd\docker-charmcraft'))

# ExpectedSum returns Name's hash in the sha256sum file Sums, or $null.
function ExpectedSum([string]$Sums, [string]$Name) {
    # sha256sum lines: HASH, a space, then a space (text) or '*' (binary), then the name.
    foreach ($line in Get-Content -LiteralPath $Sums) {
        if ($line -match '^([0-9A-Fa-f]{64}) [ *](.+)$' -and $Matches[2].TrimEnd("`r") -eq $Name) {
            return $Matches[1].ToLowerInvariant()
        }
    }
    return $null
}

# The machine's architecture, named as Go names it (a 32-bit PowerShell on
# 64-bit Windows sees x86 in PROCESSOR_ARCHITECTURE, the truth in ...W6432).
$machine = if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
switch ($machine) {
    'AMD64' { $arch = 'amd64' }
    'ARM64' { $arch = 'arm64' }
    default { $arch = "$machine".ToLower() }
}

$configDir = if ($env:DOCKER_CONFIG) { $env:DOCKER_CONFIG } else { Join-Path $env:USERPROFILE '.docker' }
$dest = Join-Path $configDir 'cli-plugins'
$plugin = 'docker-charmcraft.exe'

$tmp = Join-Path ([IO.Path]::GetTempPath()) ('docker-charmcraft.' + [Guid]::NewGuid().ToString('N'))
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
    $prebuiltName = "docker-charmcraft-windows-$arch.exe"
    $prebuilt = Join-Path $dist $prebuiltName
    $sums = Join-Path $dist 'SHA256SUMS'
    if (-not $FromSource -and -not $Version -and -not $Url -and -not (Test-Path -LiteralPath $prebuilt -PathType Leaf) -and -not $sourceTree) {
        $Version = 'latest'
    }
    if ($Version -or $Url) {
        $releases = if ($env:CHARMCRAFT_RELEASES_URL) { $env:CHARMCRAFT_RELEASES_URL.TrimEnd('/') } else { 'https://github.com/canonical/docker-charmcraft/releases' }
        if ($Url) { $base = $Url.TrimEnd('/') }
        elseif ($Version -eq 'latest') { $base = "$releases/latest/download" }
        else {
            if (-not $Version.StartsWith('v')) { $Version = "v$Version" }
            $base = "$releases/download/$Version"
        }
        $what = if ($Url) { $Url } else { $Version }
        Write-Output "Downloading $base/$prebuiltName"
        # TLS 1.2 for Windows PowerShell 5.1, whose default may be older.
        [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
        $downloadedSums = Join-Path $tmp 'SHA256SUMS'
        try { Invoke-WebRequest -UseBasicParsing -Uri "$base/SHA256SUMS" -OutFile $downloadedSums }
        catch { Fail "cannot download $base/SHA256SUMS: is $what a release? (see $releases)" }
        $want = ExpectedSum $downloadedSums $prebuiltName
        if (-not $want) { Fail "release $what has no ${prebuiltName}: no build for windows/$arch there" }
        $download = Join-Path $tmp 'download'
        try { Invoke-WebRequest -UseBasicParsing -Uri "$base/$prebuiltName" -OutFile $download }
        catch { Fail "cannot download $base/${prebuiltName}: $($_.Exception.Message)" }
        $got = (Get-FileHash -LiteralPath $download -Algorithm SHA256).Hash.ToLowerInvariant()
        if ($got -ne $want) {
            Fail "$base/$prebuiltName does not match the release's SHA256SUMS (sha256 $got, want $want): not installing it"
        }
        Move-Item -LiteralPath $download -Destination (Join-Path $tmp $plugin)
        Write-Output "Checked ${prebuiltName}: sha256 $got, as in SHA256SUMS"
    }
    elseif (-not $FromSource -and (Test-Path -LiteralPath $prebuilt -PathType Leaf)) {
        if (-not (Test-Path -LiteralPath $sums -PathType Leaf)) {
            Fail "$prebuilt has no $sums to check it against: run 'make release' again, or use -FromSource"
        }
        $want = ExpectedSum $sums $prebuiltName
        if (-not $want) {
            Fail "$sums has no line for ${prebuiltName}: run 'make release' again, or use -FromSource"
        }
        $got = (Get-FileHash -LiteralPath $prebuilt -Algorithm SHA256).Hash.ToLowerInvariant()
        if ($got -ne $want) {
            Fail "$prebuilt does not match $sums (sha256 $got, want $want): not installing it. Run 'make release' again, or use -FromSource"
        }
        Copy-Item -LiteralPath $prebuilt -Destination (Join-Path $tmp $plugin)
        Write-Output "Using $prebuilt (sha256 $got, as in SHA256SUMS)"
    }
    else {
        if (-not (Get-Command go -ErrorAction SilentlyContinue)) {
            Fail "Go is needed to build the plugin (https://go.dev/dl/); or install a release instead: .\install.ps1 -Version latest"
        }
        $version = 'dev'
        if (Get-Command git -ErrorAction SilentlyContinue) {
            # Windows PowerShell turns a native command's redirected stderr
            # into errors, which 'Stop' would make fatal.
            $ErrorActionPreference = 'Continue'
            $described = & git -C $here describe --tags --always --dirty 2>$null
            $ErrorActionPreference = 'Stop'
            if ($LASTEXITCODE -eq 0 -and $described) { $version = "$described".Trim() }
        }
        Write-Output "Building docker-charmcraft $version for windows/$arch"
        $savedCgo = $env:CGO_ENABLED
        $env:CGO_ENABLED = '0'
        Push-Location $here
        try {
            & go build -trimpath -ldflags "-s -w -X main.version=$version" -o (Join-Path $tmp $plugin) ./cmd/docker-charmcraft
            if ($LASTEXITCODE -ne 0) { Fail "go build failed" }
        }
        finally {
            Pop-Location
            $env:CGO_ENABLED = $savedCgo
        }
    }

    New-Item -ItemType Directory -Force -Path $dest | Out-Null
    # Copy then rename, so a running docker never sees a half-written plugin.
    $new = Join-Path $dest ".$plugin.new"
    Copy-Item -LiteralPath (Join-Path $tmp $plugin) -Destination $new -Force
    try {
        Move-Item -LiteralPath $new -Destination (Join-Path $dest $plugin) -Force
    }
    catch {
        Remove-Item -LiteralPath $new -Force -ErrorAction SilentlyContinue
        Fail "cannot replace $(Join-Path $dest $plugin) (is a docker charmcraft command still running?): $($_.Exception.Message)"
    }
    Write-Output "Installed $(Join-Path $dest $plugin)"
}
finally {
    Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
}

if (-not (Get-Command docker -ErrorAction SilentlyContinue)) {
    [Console]::Error.WriteLine("The docker CLI is not on PATH: install Docker Desktop, then run 'docker charmcraft --help'.")
    exit 0
}
$ErrorActionPreference = 'Continue'
& docker charmcraft --help *> $null
$ok = $LASTEXITCODE -eq 0
$ErrorActionPreference = 'Stop'
if ($ok) {
    Write-Output "Check: 'docker charmcraft --help' works."
    exit 0
}

# The docker CLI looks in its config directory's cli-plugins\, in the
# directories listed as cliPluginsExtraDirs in its config.json, then in
# $env:ProgramFiles\Docker\cli-plugins.
$jsonDest = $dest -replace '\\', '\\'
[Console]::Error.WriteLine(@"
The docker CLI does not see the plugin in $dest.
- If docker uses another config directory (DOCKER_CONFIG, --config), set
  `$env:DOCKER_CONFIG to it and run install.ps1 again.
- Or list the directory in docker's config file, $(Join-Path $configDir 'config.json')
  (Docker Desktop keeps its own plugins there this way):
    "cliPluginsExtraDirs": ["$jsonDest"]
Then check with: docker charmcraft --help
"@)
exit 1
