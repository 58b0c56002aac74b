; Inno Setup script for PeerTrail on Windows (Inno Setup 6).
;
; installer/build.py runs it after PyInstaller:
;   ISCC.exe /DAppVersion=0.1.0 /DSourceDir=dist\PeerTrail /DIconFile=resources\icons\peertrail.ico /Odist installer\windows\peertrail.iss
;
; - Per-user install: no administrator rights, into %LOCALAPPDATA%\Programs\PeerTrail.
; - A Start-menu entry (and an optional desktop shortcut).
; - The uninstaller removes the program. It leaves the person's data folder
;   (%LOCALAPPDATA%\PeerTrail\PeerTrail: the encrypted vault) unless the person
;   says yes to deleting it; a silent uninstall never deletes it.

#ifndef AppVersion
  #error Pass /DAppVersion=X.Y.Z (installer/build.py does)
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\PeerTrail"
#endif
#ifndef IconFile
  #define IconFile "..\..\resources\icons\peertrail.ico"
#endif

#define AppName "PeerTrail"
#define AppExe "PeerTrail.exe"

[Setup]
; The AppId identifies the installation for upgrades; never change it.
AppId={{6B0E5A4C-2F7D-4C1B-9E0A-5D3C8F1A7B21}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=PeerTrail
AppPublisherURL=https://peertrail.org
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputBaseFilename=PeerTrail-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes
VersionInfoVersion={#AppVersion}

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Caseload, notes and hours for peer support"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; only what the program itself may leave beside its files
Type: filesandordirs; Name: "{app}\__pycache__"

[Code]
function DataDir(): String;
begin
  { platformdirs.user_data_dir("PeerTrail", "PeerTrail") on Windows }
  Result := ExpandConstant('{localappdata}\PeerTrail\PeerTrail');
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep <> usPostUninstall then
    exit;
  if UninstallSilent then
    exit;  { a silent uninstall (e.g. by IT) keeps the data }
  if not DirExists(DataDir()) and not DirExists(DataDir() + '-demo') then
    exit;
  if MsgBox('PeerTrail has been removed.' #13#10#13#10
      + 'Your encrypted vault is still in ' + DataDir() + '. '
      + 'Keep it if you will install PeerTrail again or your records have not been synced.' #13#10#13#10
      + 'Delete your vault and every PeerTrail record on this computer as well? This cannot be undone.',
      mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
  begin
    DelTree(DataDir(), True, True, True);
    DelTree(DataDir() + '-demo', True, True, True);
    RemoveDir(ExpandConstant('{localappdata}\PeerTrail'));
    RegDeleteKeyIncludingSubkeys(HKCU, 'Software\PeerTrail\PeerTrail');
    RegDeleteKeyIfEmpty(HKCU, 'Software\PeerTrail');
  end;
end;
