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
; - For an agency's roll-out, run as an administrator for every user of the
;   computer and pre-set the sync server (app/services/site_settings.py reads it):
;     PeerTrail-X.Y.Z-setup.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /ALLUSERS
;         /SERVER=sync.example.org:8443 /FINGERPRINT=11:7B:...:8D [/INVITE=D:\ann.txt]
;   writes %ProgramData%\PeerTrail\desktop.toml (and copies the invite file beside
;   it as invite.txt); see installer/README.md, "Rolling out laptops".

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
PrivilegesRequiredOverridesAllowed=commandline dialog
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
const
  ADDRESS_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:/[]';
  FINGERPRINT_CHARS = '0123456789abcdefABCDEF: ';

function SiteDir(): String;
begin
  { platformdirs.site_config_dir("PeerTrail", appauthor=False) on Windows }
  Result := ExpandConstant('{commonappdata}\PeerTrail');
end;

function ParamText(const Name: String): String;
begin
  Result := Trim(ExpandConstant('{param:' + Name + '|}'));
end;

function OnlyChars(const Text, Chars: String): Boolean;
var
  I: Integer;
begin
  Result := True;
  for I := 1 to Length(Text) do
    if Pos(Text[I], Chars) = 0 then
    begin
      Result := False;
      exit;
    end;
end;

function HexDigits(const Text: String): Integer;
var
  I: Integer;
begin
  Result := 0;
  for I := 1 to Length(Text) do
    if (Text[I] <> ':') and (Text[I] <> ' ') then
      Result := Result + 1;
end;

{ /SERVER=, /FINGERPRINT= and /INVITE= are checked before anything is installed:
  a typo stops the setup (exit code 1 when silent) instead of a laptop that cannot
  connect. The app checks the file again when it reads it. }
function SiteSettingsProblem(): String;
var
  Server, Fingerprint, Invite: String;
begin
  Result := '';
  Server := ParamText('SERVER');
  Fingerprint := ParamText('FINGERPRINT');
  Invite := ParamText('INVITE');
  if (Server = '') and (Fingerprint = '') and (Invite = '') then
    exit;
  if not IsAdminInstallMode then
    Result := '/SERVER, /FINGERPRINT and /INVITE set PeerTrail up for every user of this '
      + 'computer: run the setup as an administrator with /ALLUSERS.'
  else if not OnlyChars(Server, ADDRESS_CHARS) then
    Result := '/SERVER is an address such as sync.example.org:8443.'
  else if (Fingerprint <> '') and (Server = '') then
    Result := '/FINGERPRINT needs /SERVER as well.'
  else if (Fingerprint <> '') and (not OnlyChars(Fingerprint, FINGERPRINT_CHARS) or (HexDigits(Fingerprint) <> 64)) then
    Result := '/FINGERPRINT is the 64 hex digits the server printed (AB:CD:...).'
  else if (Invite <> '') and not FileExists(Invite) then
    Result := '/INVITE names a file that does not exist: ' + Invite;
end;

function InitializeSetup(): Boolean;
var
  Problem: String;
begin
  Problem := SiteSettingsProblem();
  Result := Problem = '';
  if not Result then
  begin
    Log('PeerTrail setup stopped: ' + Problem);
    SuppressibleMsgBox(Problem, mbCriticalError, MB_OK, IDOK);
  end;
end;

procedure WriteSiteSettings();
var
  Server, Fingerprint, Invite, Text: String;
begin
  Server := ParamText('SERVER');
  Fingerprint := ParamText('FINGERPRINT');
  Invite := ParamText('INVITE');
  if (Server = '') and (Fingerprint = '') and (Invite = '') then
    exit;
  ForceDirectories(SiteDir());
  Text := '# PeerTrail: the agency''s sync server for every user of this computer (written by setup).'
    + #13#10 + '[server]' + #13#10;
  if Server <> '' then
    Text := Text + 'address = "' + Server + '"' + #13#10;
  if Fingerprint <> '' then
    Text := Text + 'fingerprint = "' + Fingerprint + '"' + #13#10;
  if Invite <> '' then
  begin
    if not FileCopy(Invite, SiteDir() + '\invite.txt', False) then
      Log('PeerTrail setup: could not copy ' + Invite);
    Text := Text + 'invite_file = "invite.txt"' + #13#10;
  end;
  if SaveStringToFile(SiteDir() + '\desktop.toml', Text, False) then
    Log('PeerTrail setup: wrote ' + SiteDir() + '\desktop.toml')
  else
    Log('PeerTrail setup: could not write ' + SiteDir() + '\desktop.toml');
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if CurStep = ssPostInstall then
    WriteSiteSettings();
end;

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
