; Inno Setup 6 script for Telerad Workstation (Windows x64). Cannot be built on the Linux CI machine.
; Build on Windows (see packaging/README.md):
;   py -m PyInstaller --noconfirm --distpath dist\bundle --workpath build\pyinstaller packaging\telerad.spec
;   for /f %v in ('py -c "import app; print(app.__version__)"') do iscc /DAppVersion=%v packaging\windows\telerad.iss
; The version is passed in from app.__version__ (the single source); there is no default on purpose.
#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z (from app.__version__)
#endif
#define AppName "Telerad Workstation"
#define BundleDir "..\..\dist\bundle\telerad"

[Setup]
AppId={{6F3C1E2A-5B7D-4C1E-9A8F-2D4B6E8A0C11}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Telerad
DefaultDirName={autopf}\Telerad Workstation
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename=telerad-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\telerad.ico
UninstallDisplayIcon={app}\telerad.exe
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
PrivilegesRequiredOverridesAllowed=dialog
LicenseFile={#BundleDir}\licenses\THIRD-PARTY-NOTICES.txt

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\telerad.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\telerad.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Run]
Filename: "{app}\telerad.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
