// Chinese first, English by a switch. Every label, message and error the
// pages show comes from here; times are shown in the station's time zone.

export type Lang = "zh" | "en";

const STORAGE_KEY = "precinct.lang";

let lang: Lang = (localStorage.getItem(STORAGE_KEY) as Lang | null) ?? "zh";
let timeZone = "Asia/Shanghai";
const listeners = new Set<() => void>();

export function currentLang(): Lang {
  return lang;
}

export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next === "zh" ? "zh-CN" : "en";
  listeners.forEach((l) => l());
}

export function onLangChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function setTimeZone(zone: string): void {
  timeZone = zone;
}

/** The station's clock as last read from the server, and how fast it runs. */
let clock = { server: Date.now(), local: Date.now(), speed: 1 };

export function setStationClock(nowIso: string, speed: number): void {
  clock = { server: Date.parse(nowIso), local: Date.now(), speed };
}

/** Now on the station's clock (a demo may run faster than real time). */
export function stationNow(): number {
  return clock.server + (Date.now() - clock.local) * clock.speed;
}

/** A wall-clock time typed in the station's zone ("2026-11-01T09:30") as UTC ISO. */
export function stationTimeToIso(local: string): string {
  const [date, time] = local.split("T");
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi] = time.split(":").map(Number);
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  // The zone's offset at that moment, read back through Intl.
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  }).formatToParts(new Date(guess));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const shown = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"));
  return new Date(guess - (shown - guess)).toISOString();
}

type Pair = [zh: string, en: string];

const TEXT = {
  app_title: ["高桥派出所 警务指挥平台", "Precinct command platform"],
  login: ["登录", "Log in"],
  logout: ["退出", "Log out"],
  username: ["用户名", "Username"],
  password: ["密码", "Password"],
  logging_in: ["正在登录…", "Logging in…"],
  language: ["English", "中文"],
  queue: ["警情队列", "Incident queue"],
  new_incident: ["新建警情", "New incident"],
  units_board: ["警力看板", "Units board"],
  map: ["地图", "Map"],
  live: ["实时", "Live"],
  reconnecting: ["重连中…", "Reconnecting…"],
  category: ["类别", "Category"],
  priority: ["等级", "Priority"],
  caller_name: ["报警人", "Caller"],
  caller_phone: ["联系电话", "Phone"],
  summary: ["简要警情", "Summary"],
  location: ["地点", "Location"],
  search_place: ["搜索地点或地址，如“美食七街”“皮具”", "Search a place or address, e.g. 美食七街"],
  or_click_map: ["或在地图上点击选点", "or click the map"],
  picked_on_map: ["地图选点", "Point on the map"],
  address: ["地址", "Address"],
  source: ["来源", "Source"],
  submit_incident: ["接警录入", "Take the incident"],
  cancel: ["取消", "Cancel"],
  status: ["状态", "Status"],
  age: ["时长", "Age"],
  reported_at: ["报警时间", "Reported"],
  received_at: ["接警时间", "Received"],
  timeline: ["处置经过", "Timeline"],
  recommendation: ["推荐处置方案", "Recommended response"],
  dispatch_plan: ["一键派警", "Dispatch the plan"],
  dispatch_selected: ["派出所选警力", "Dispatch selected"],
  add_unit: ["增派警力", "Add a unit"],
  add_unit_hint: ["输入呼号、名称或类型搜索", "Search by call sign, name or kind"],
  straight_distance: ["直线约", "about "],
  metres: ["米", " m"],
  kilometres: ["公里", " km"],
  no_candidates: ["无可用警力", "No unit available"],
  coordinated: ["启动应急处置协同机制", "Coordinated emergency mechanism"],
  close_incident: ["结警", "Close"],
  disposition: ["处置结果", "Disposition"],
  remark: ["备注", "Remark"],
  add_note: ["添加备注", "Add a note"],
  note: ["备注", "Note"],
  merge_into: ["合并到疑似重复警情", "Merge into the likely duplicate"],
  likely_duplicate_of: ["疑似重复：", "Likely duplicate of "],
  assigned_units: ["已派警力", "Assigned units"],
  arrived: ["到场", "arrived"],
  released: ["已撤离", "released"],
  police: ["民警", "police"],
  helper: ["先期处置力量", "first response"],
  not_dispatched_in_time: ["超时未派警", "Not dispatched in time"],
  not_on_scene_in_time: ["超时未到场", "No one on scene in time"],
  first_response: ["先期处置", "First response"],
  police_response: ["民警到场", "Police on scene"],
  seconds: ["秒", "s"],
  minutes: ["分", "min"],
  field_title: ["我的任务", "My task"],
  no_task: ["暂无任务，请继续巡逻", "No task: carry on patrolling"],
  accept: ["接受", "Accept"],
  decline: ["拒绝", "Decline"],
  decline_reason: ["拒绝原因", "Reason for declining"],
  en_route: ["出发", "En route"],
  on_scene: ["到达现场", "On scene"],
  handed_over: ["移交民警", "Hand over"],
  clear: ["处置完毕", "Clear"],
  share_position: ["共享位置", "Share my position"],
  sharing_position: ["正在共享位置", "Sharing position"],
  position_shared: ["位置已上报", "Position reported"],
  instruction: ["先期处置要求", "First-response instruction"],
  police_on_scene: ["民警已到场", "Police are on scene"],
  police_not_yet: ["民警尚未到场", "Police not yet on scene"],
  my_unit: ["我的单位", "My unit"],
  not_for_role: ["此页面不适用于您的角色。", "This page is not for your role."],
  go_field: ["打开外勤页面", "Open the field view"],
  go_console: ["打开指挥台", "Open the console"],
  select_incident: ["请选择一条警情", "Select an incident"],
  zone: ["防区", "Zone"],
  community: ["社区", "Community"],
  outside_ground: ["辖区外", "Outside the ground"],
  unassigned_post: ["未归属警务点", "No post"],
  saved: ["已保存", "Saved"],
  error_network: ["网络错误，请重试", "Network error, please retry"],
  clicks: ["点击", "clicks"],
  eta: ["预计", "ETA"],
  units_free: ["空闲", "free"],
  units_busy: ["出警中", "busy"],
  all: ["全部", "All"],
  open_incidents: ["在办警情", "Open incidents"],
  closed_incidents: ["已结警情", "Closed"],
  remove: ["移除", "Remove"],
  stale: ["位置过期", "stale position"],
  other_zone: ["跨防区", "other zone"],
  diversion: ["改派自警情", "diverted from incident"],
  estimated: ["直线估算", "straight-line estimate"],
  view_command: ["指挥调度", "Command"],
  view_disputes: ["矛盾纠纷调解", "Disputes"],
  disputes: ["纠纷案件", "Dispute cases"],
  open_cases: ["在办", "Open"],
  all_cases: ["全部", "All"],
  follow_ups_due: ["回访到期", "Follow-ups due"],
  new_case: ["登记纠纷", "Register a dispute"],
  open_case_from_incident: ["建立调解案件", "Open a mediation case"],
  parties: ["当事人", "Parties"],
  parties_hint: ["每行一人：姓名 电话", "One per line: name phone"],
  responsible_org: ["牵头单位", "Responsible organisation"],
  participating_orgs: ["参与单位", "Taking part"],
  risk: ["风险", "Risk"],
  sessions: ["调解记录", "Sessions"],
  record_session: ["记录调解", "Record a session"],
  venue: ["地点", "Venue"],
  participants: ["参加人员", "Participants"],
  participants_hint: ["每行一人：姓名 身份（单位在下方选择）", "One per line: name role"],
  participant_org: ["参加人员所属单位（按行顺序，可选）", "Their organisations, in line order (optional)"],
  outcome: ["结果", "Outcome"],
  notes: ["记录", "Notes"],
  agreement: ["调解协议", "Agreement"],
  facts: ["纠纷事实", "Facts"],
  terms: ["协议条款（每行一条）", "Terms (one per line)"],
  save_agreement: ["保存协议", "Save the agreement"],
  sign_for: ["签字：", "Signed by: "],
  signed: ["已签字", "signed"],
  print_pdf: ["打印协议书 (PDF)", "Print the agreement (PDF)"],
  follow_ups: ["回访", "Follow-up visits"],
  due: ["到期", "due"],
  visited: ["已回访", "visited"],
  record_stable: ["回访：稳定", "Visit: stable"],
  record_relapse: ["回访：复发", "Visit: relapsed"],
  accept_case: ["受理", "Accept"],
  refer_to: ["移交", "Refer to"],
  dismiss: ["不予调解", "Dismiss"],
  close_case: ["结案", "Close"],
  reason: ["原因", "Reason"],
  linked_incidents: ["关联警情", "Linked incidents"],
  from_incident: ["按来源警情", "From the incident"],
  recurrence: ["再发纠纷", "Recurs dispute"],
  history: ["办理经过", "History"],
  submit: ["提交", "Submit"],
  no_cases: ["暂无案件", "No cases"],
  newest_cases_only: ["仅列出最新 {n} 件案件", "Only the newest {n} cases are listed"],
  plan_session: ["安排调解", "Arrange a session"],
  planned_sessions: ["已安排的调解", "Arranged sessions"],
  when: ["时间", "When"],
  next_session: ["下次调解", "Next session"],
  view_station: ["站点管理", "Station"],
  view_intel: ["情报研判", "Intelligence"],
  intel_period: ["统计时段", "Period"],
  intel_from: ["从", "From"],
  intel_until: ["至", "To"],
  intel_apply: ["查询", "Apply"],
  preset_year: ["本年", "This year"],
  preset_month: ["本月", "This month"],
  preset_last_month: ["上月", "Last month"],
  preset_30d: ["近30天", "Last 30 days"],
  yoy: ["同比", "YoY"],
  pop: ["环比", "PoP"],
  this_period: ["本期", "This period"],
  last_year_value: ["去年同期", "Last year"],
  previous_value: ["上期", "Previous"],
  no_data: ["无数据", "no data"],
  legend: ["图例", "Legend"],
  first_run_title: ["新站点开通：三步", "A new station: three steps"],
  first_run_package: ["1. 导入站点数据包", "1. Import the station package"],
  first_run_package_hint: ["辖区、社区、网格、警务站点、警力与人员，来自本所的 GIS 与 Excel 表格（站点管理 → 数据包导入，可先下载模板）。", "Zones, communities, grid cells, posts, units and people, from the station's own GIS and Excel files (站点管理 → package import; a template can be downloaded there)."],
  open_station_admin: ["打开站点管理", "Open station admin"],
  first_run_roads: ["2. 导入路网", "2. Import the road network"],
  first_run_roads_hint: ["从本市的 OpenStreetMap 数据导入，用于按道路计算到达时间、街道名称与地址搜索：", "From the city's OpenStreetMap extract, for travel times by road, street names and address search:"],
  first_run_accounts: ["3. 发放账号", "3. Hand out the accounts"],
  first_run_accounts_hint: ["数据包中的人员获得一次性密码，可在导入结果中下载或打印；之后在 站点管理 → 人员账号 中维护。", "The package's people get one-time passwords, downloadable or printable from the import result; afterwards kept under 站点管理 → accounts."],
  partial_period: ["不完整", "partial"],
  partial_period_note: ["灰底为不完整时段（被统计时段截断或尚未结束），其数值不与完整时段直接比较。", "Shaded points cover part of an interval (cut by the period or not over yet): they are not comparable with whole ones."],
  download_passwords: ["下载密码表（Excel可打开）", "Download the sheet (opens in Excel)"],
  print_passwords: ["打印", "Print"],
  close_legend: ["收起图例", "Hide the legend"],
  legend_ground: ["辖区、社区、网格、地点名称", "Zone, community, cell and place names"],
  legend_incidents: ["警情（优先级）", "Incidents (priority)"],
  legend_police_ring: ["深色外圈为警力", "dark ring: police"],
  legend_post: ["警务站点", "police post"],
  legend_closure: ["封闭道路", "closed road"],
  legend_route: ["出警路线", "route to the scene"],
  computing_hotspots: ["热点计算中…", "Computing hotspots…"],
  loading: ["读取中…", "Loading…"],
  cell_incidents: ["该网格的警情", "Incidents in this cell"],
  legend_water: ["水域", "water"],
  legend_park: ["绿地", "park"],
  legend_building: ["建筑", "building"],
  photos: ["现场照片", "Photos of the scene"],
  photo_of_scene: ["现场照片", "photo of the scene"],
  eta_left: ["预计", "ETA"],
  eta_due: ["应已到达", "due"],
  eta_estimated: ["(直线估算)", "(straight-line estimate)"],
  field_report: ["现场上报", "Report what you see"],
  field_report_hint: ["看到情况？选类别、写一句、拍张照，连同您的位置一起上报。", "Seen something? Pick a category, say what, add a photo: it is sent with your position."],
  report_what: ["发生了什么", "What is happening"],
  report_photo: ["照片", "Photo"],
  report_send: ["上报", "Send report"],
  report_sent: ["已上报，指挥中心已收到", "Sent: the command room has it"],
  locating: ["正在定位…", "Locating…"],
  navigate: ["导航前往", "Navigate there"],
  route_map: ["路线图", "Route map"],
  legend_hot: ["热点", "hot"],
  legend_cold: ["冷点", "cold"],
  already_sent: ["已派出：", "Already sent: "],
  skipped_units: ["已在警情上，未重复派出：", "Already on the incident, not sent again: "],
  plan_filled: ["预案警力已全部派出", "Every unit the plan asks for has been sent"],
  series_title: ["警情趋势", "Incidents over time"],
  breakdown_title: ["警情分布", "Breakdown"],
  by_category: ["警情类别", "Category"],
  by_zone: ["防区", "Zone"],
  by_community: ["社区", "Community"],
  by_grid_cell: ["网格", "Grid cell"],
  heat_title: ["时段分布(星期 × 小时)", "Hour of day × weekday"],
  layer_hot: ["热点(Gi*)", "Hotspots (Gi*)"],
  layer_density: ["核密度", "Density"],
  layer_emerging: ["新兴热点", "Emerging hotspots"],
  hotspot_definition: ["250米网格,错误发现率5%", "250 m cells, FDR 5%"],
  grid_hotspots: ["热点网格", "Hotspot grid cells"],
  export_xlsx: ["导出Excel", "Export to Excel"],
  briefing_pdf: ["研判月报(PDF)", "Monthly briefing (PDF)"],
  admin_package: ["数据包导入", "Station package"],
  admin_ground: ["辖区", "Ground"],
  admin_units: ["警力", "Units"],
  admin_people: ["人员账号", "People"],
  admin_sessions: ["在线会话", "Sessions"],
  station_package: ["站点数据包", "Station package"],
  station_package_hint: [
    "上传 .zip 数据包（station.toml、辖区 GeoJSON/Shapefile、力量/人员/组织表格 .xlsx 或 .csv）。先校验，无误后再导入；导入为整体生效，有任何错误则不做任何更改。",
    "Upload a .zip package (station.toml, ground as GeoJSON or Shapefile, units/people/organisations as .xlsx or .csv). Validate first, then import: all or nothing.",
  ],
  download_template: ["下载模板", "Download the template"],
  export_station: ["导出当前站点数据包", "Export the station as a package"],
  package_file: ["数据包文件", "Package file"],
  validate_package: ["校验", "Validate"],
  import_package: ["导入", "Import"],
  package_valid: ["校验通过，导入将作如下更改：", "Valid. Importing makes these changes:"],
  package_imported: ["已导入：", "Imported:"],
  package_problems: ["数据包存在问题，不能导入。问题数：", "The package has problems and cannot be imported. Problems:"],
  package_warnings: ["以下内容未被识别，已忽略（请核对文件名和列名）。条数：", "Not recognised and ignored (check the file and column names):"],
  file: ["文件", "File"],
  sheet: ["工作表", "Sheet"],
  row: ["行", "Row"],
  column: ["列", "Column"],
  problem: ["问题", "Problem"],
  added: ["新增", "Added"],
  changed: ["变更", "Changed"],
  retired: ["停用", "Retired"],
  unchanged: ["未变", "Unchanged"],
  one_time_passwords_hint: [
    "以下为新账号的一次性密码，仅显示这一次，请分发给本人；首次登录须修改。",
    "One-time passwords of the new accounts, shown only now: hand them out; each must be changed at first login.",
  ],
  display_name: ["姓名", "Name"],
  one_time_password: ["一次性密码", "One-time password"],
  search: ["搜索", "Search"],
  code: ["编码", "Code"],
  name: ["名称", "Name"],
  details: ["详情", "Details"],
  call_sign: ["呼号", "Call sign"],
  kind: ["类型", "Kind"],
  phone: ["电话", "Phone"],
  edit: ["编辑", "Edit"],
  save: ["保存", "Save"],
  unit: ["所属", "Unit / organisation"],
  unit_call_sign: ["所属力量呼号", "Unit call sign"],
  account_disabled: ["已停用", "Disabled"],
  must_change_password: ["待改密码", "Must change password"],
  account_active: ["正常", "Active"],
  enable_account: ["启用", "Enable"],
  disable_account: ["停用", "Disable"],
  reset_password: ["重置密码", "Reset password"],
  change_password_title: ["首次登录，请设置您自己的密码", "First login: set your own password"],
  current_password: ["当前（一次性）密码", "Current (one-time) password"],
  new_password: ["新密码（至少10个字符）", "New password (at least 10 characters)"],
  new_password_again: ["再次输入新密码", "New password again"],
  change_password: ["修改密码", "Change password"],
  passwords_differ: ["两次输入的新密码不一致", "The two new passwords differ"],
  role: ["角色", "Role"],
  totp_code: ["动态口令（6位数字）", "Authenticator code (6 digits)"],
  recovery_code: ["恢复码", "Recovery code"],
  use_recovery_code: ["手机丢失？使用恢复码", "Lost your phone? Use a recovery code"],
  use_totp_code: ["使用动态口令", "Use the authenticator code"],
  enrol_title: ["绑定动态口令（双因素认证）", "Set up a second factor"],
  enrol_why: [
    "管理员和调度员账号须使用动态口令登录。请准备好手机上的身份验证器应用（如 FreeOTP、Google Authenticator、微信小程序“腾讯身份验证器”）。",
    "Admin and dispatcher accounts log in with an authenticator code. Have an authenticator app ready on your phone (FreeOTP, Google Authenticator, Microsoft Authenticator…).",
  ],
  enrol_begin: ["开始绑定", "Begin"],
  enrol_scan: ["用身份验证器应用扫描二维码，然后输入它显示的6位口令。", "Scan the QR code with the authenticator app, then type the 6-digit code it shows."],
  enrol_secret: ["无法扫描时手动输入密钥：", "Cannot scan? Type the key:"],
  enrol_confirm: ["确认绑定", "Confirm"],
  recovery_codes_hint: [
    "以下恢复码只显示这一次：请抄写或打印后妥善保管。手机丢失时，每个恢复码可代替动态口令登录一次。",
    "These recovery codes are shown only now: write them down or print them and keep them safe. If the phone is lost, each logs in once instead of a code.",
  ],
  enrol_done: ["已保存恢复码，进入系统", "I have kept them: continue"],
  second_factor: ["动态口令", "2FA"],
  reset_second_factor: ["重置动态口令", "Reset 2FA"],
  session_user: ["账号", "Account"],
  session_address: ["地址", "Address"],
  session_started: ["登录时间", "Logged in"],
  session_last_seen: ["最近操作", "Last request"],
  session_current: ["（本会话）", "(this session)"],
  revoke_session: ["强制下线", "Revoke"],
} satisfies Record<string, Pair>;

export type TextKey = keyof typeof TEXT;

export function t(key: TextKey): string {
  const pair: Pair = TEXT[key];
  return lang === "zh" ? pair[0] : pair[1];
}

const LABELS: Record<string, Record<string, Pair>> = {
  category: {
    theft: ["盗窃", "Theft"],
    burglary: ["入室盗窃", "Burglary"],
    fight_assault: ["打架斗殴", "Fight / assault"],
    robbery: ["抢劫抢夺", "Robbery"],
    fraud: ["诈骗", "Fraud"],
    other_criminal: ["其他刑事", "Other criminal"],
    public_disturbance: ["扰乱公共秩序", "Public disturbance"],
    gambling: ["赌博", "Gambling"],
    neighbour_noise_dispute: ["邻里噪音纠纷", "Neighbour / noise dispute"],
    commercial_debt_dispute: ["经济货款纠纷", "Commercial / debt dispute"],
    family_dispute: ["家庭纠纷", "Family dispute"],
    other_dispute: ["其他纠纷", "Other dispute"],
    help_request: ["群众求助", "Help request"],
    domestic_violence: ["家暴", "Domestic violence"],
    traffic_accident: ["交通事故", "Traffic accident"],
    fire: ["火情", "Fire"],
    other: ["其他", "Other"],
  },
  source: {
    instruction_110: ["110指令", "110 instruction"],
    history: ["历史导入", "Imported history"],
    phone: ["电话报警", "Phone"],
    walk_in: ["来所报警", "Walk-in"],
    volunteer_report: ["义警上报", "Volunteer report"],
    grid_worker_report: ["网格员上报", "Grid worker report"],
    video_patrol: ["视频巡查", "Video patrol"],
    alarm: ["报警器", "Alarm"],
  },
  incident_status: {
    received: ["待派警", "Received"],
    dispatched: ["已派警", "Dispatched"],
    on_scene: ["已到场", "On scene"],
    closed: ["已结警", "Closed"],
  },
  disposition: {
    resolved_on_scene: ["现场处置完毕", "Resolved on scene"],
    referred_to_mediation: ["移交调解", "Referred to mediation"],
    criminal_case_opened: ["刑事立案", "Criminal case opened"],
    public_order_case_opened: ["治安立案", "Public-order case opened"],
    no_action_needed: ["无需处置", "No action needed"],
    transferred_to_agency: ["移交其他部门", "Transferred to another agency"],
    merged_as_duplicate: ["重复警情已合并", "Merged as duplicate"],
  },
  unit_status: {
    off_duty: ["离岗", "Off duty"],
    on_patrol: ["巡逻中", "On patrol"],
    at_post: ["在岗", "At post"],
    dispatched: ["已派出", "Dispatched"],
    en_route: ["在途", "En route"],
    on_scene: ["在现场", "On scene"],
    clearing: ["收尾中", "Clearing"],
  },
  unit_kind: {
    patrol_car: ["巡逻车", "Patrol car"],
    foot_patrol: ["徒步巡逻", "Foot patrol"],
    post_team: ["警务点", "Post team"],
    community_police_team: ["社区警务队", "Community police team"],
    volunteer_police_team: ["义警队", "Volunteer-police team"],
    security_force_team: ["治安巡防队", "Security-force team"],
    grid_worker: ["网格员", "Grid worker"],
    property_staff: ["物业人员", "Property staff"],
  },
  force: {
    police: ["民警", "Police"],
    patrol_police: ["巡逻民警", "Patrol police"],
    community_police: ["社区民警", "Community police"],
    first_response: ["先期处置力量", "First response"],
    property_company: ["物业/市场管理方", "Property company"],
  },
  shortfall: {
    too_few_available: ["可用警力不足", "too few units available"],
    too_few_within_distance: ["范围内可用警力不足", "too few units within reach"],
    no_managing_company_nearby: ["附近无该处的物业/市场管理方", "no managing company nearby"],
  },
  travel: {
    driving: ["驾车", "driving"],
    walking: ["步行", "walking"],
  },
  event: {
    incident_received: ["接警", "Received"],
    duplicate_linked: ["疑似重复警情", "Linked as likely duplicate"],
    units_dispatched: ["派警", "Units dispatched"],
    unit_status_changed: ["警力状态", "Unit status"],
    unit_position_reported: ["位置上报", "Position reported"],
    first_response_accepted: ["接受先期处置任务", "First response accepted"],
    first_response_declined: ["拒绝先期处置任务", "First response declined"],
    handed_over: ["移交民警", "Handed over to police"],
    roads_closed: ["道路封闭", "Roads closed"],
    roads_reopened: ["道路恢复", "Roads reopened"],
    incident_status_changed: ["警情状态", "Incident status"],
    note_added: ["备注", "Note"],
    photo_attached: ["现场照片", "Photo of the scene"],
    incident_closed: ["结警", "Closed"],
    incidents_merged: ["合并警情", "Incidents merged"],
    dispute_recurrence: ["再发纠纷", "Recurs a dispute"],
    roads_replaced: ["路网更新", "Road network replaced"],
    account_created: ["新建账号", "Account created"],
  },
  dispute_status: {
    registered: ["已登记", "Registered"],
    accepted: ["已受理", "Accepted"],
    in_mediation: ["调解中", "In mediation"],
    agreement_reached: ["达成协议", "Agreement reached"],
    mediation_failed: ["调解未成", "Mediation failed"],
    referred: ["已移交", "Referred"],
    follow_up: ["回访中", "Follow-up"],
    closed: ["已结案", "Closed"],
  },
  dispute_category: {
    neighbour_noise: ["邻里/噪音", "Neighbour / noise"],
    family_marital: ["婚姻家庭", "Family / marital"],
    commercial_debt: ["经济/货款", "Commercial / debt"],
    labour: ["劳动争议", "Labour"],
    property_management: ["物业管理", "Property management"],
    consumer: ["消费纠纷", "Consumer"],
    land: ["土地纠纷", "Land"],
    other: ["其他", "Other"],
  },
  dispute_source: {
    incident: ["警情移交", "From an incident"],
    screening: ["排查发现", "Screening"],
    walk_in: ["来访", "Walk-in"],
  },
  venue: {
    mediation_room: ["调解室", "Mediation room"],
    legal_service_station: ["法治高桥服务站", "Legal service station"],
    on_site: ["现场", "On site"],
  },
  session_outcome: {
    agreement: ["达成协议", "Agreement"],
    failed: ["调解未成", "Failed"],
    continued: ["继续调解", "Continued"],
  },
  /** A hotspot cell's trend against the period before. */
  trend: {
    new: ["新出现", "new"],
    intensifying: ["加剧", "intensifying"],
    persistent: ["持续", "persistent"],
    diminishing: ["减弱", "diminishing"],
    none: ["无显著变化", "no change"],
  },
  /** The names the server's own processes act under (event actors). */
  system_actor: {
    "recurrence check": ["再发纠纷核查", "recurrence check"],
    gps: ["定位上报", "GPS"],
    "history import": ["历史警情导入", "history import"],
    "road import": ["路网导入", "road import"],
    "station import": ["数据包导入", "station import"],
    "precinct user add": ["命令行建账号", "precinct user add"],
    demo: ["演示", "demo"],
    field: ["现场", "field"],
    admin: ["管理员", "admin"],
    unit: ["执勤单位", "unit"],
  },
  address_kind: {
    place: ["地点", "place"],
    street: ["道路", "street"],
    intersection: ["路口", "intersection"],
    house: ["门牌", "house number"],
    poi: ["地标", "landmark"],
  },
  referral: {
    court: ["法庭", "Court"],
    petition_office: ["信访办", "Petition office"],
    arbitration: ["仲裁", "Arbitration"],
  },
  risk: {
    low: ["低", "Low"],
    medium: ["中", "Medium"],
    high: ["高", "High"],
    violence_in_incident: ["警情中有暴力", "violence in the incident"],
    repeat_at_address: ["同一地址90天内再发", "repeat at the address within 90 days"],
    repeat_between_parties: ["同一当事人90天内再发", "repeat between the parties within 90 days"],
    many_parties: ["当事人多", "many parties"],
    vulnerable_party: ["涉及弱势群体", "a vulnerable party"],
  },
  post_kind: {
    police_post: ["警务驻点", "Police post"],
    community_police_office: ["社区警务室", "Community police office"],
  },
  organisation_kind: {
    police_station: ["派出所", "Police station"],
    judicial_office: ["司法所", "Judicial office"],
    law_firm: ["律师事务所", "Law firm"],
    court: ["法庭", "Court"],
    residents_committee: ["居委会", "Residents' committee"],
    petition_office: ["信访办", "Petition office"],
    property_company: ["物业公司", "Property company"],
    market_management: ["市场管理公司", "Market management"],
    owners_committee: ["业主委员会", "Owners' committee"],
    other: ["其他", "Other"],
  },
  layer: {
    zones: ["防区", "Zones"],
    communities: ["社区", "Communities"],
    grid_cells: ["网格", "Grid cells"],
    posts: ["警务点", "Posts"],
    places: ["地点", "Places"],
    cameras: ["摄像头", "Cameras"],
    organisations: ["组织", "Organisations"],
  },
  role: {
    admin: ["管理员", "Admin"],
    dispatcher: ["指挥员", "Dispatcher"],
    officer: ["民警", "Officer"],
    volunteer: ["义警/网格员", "Volunteer"],
    mediator: ["调解员", "Mediator"],
    analyst: ["研判员", "Analyst"],
  },
};

export type LabelKind = keyof typeof LABELS;

/** The station's own incident code table, once the ground is loaded. */
let stationCategories: Record<string, Pair> | null = null;

export function setCategories(table: { code: string; name_zh: string; name_en: string }[] | undefined): void {
  stationCategories = table ? Object.fromEntries(table.map((c) => [c.code, [c.name_zh, c.name_en] as Pair])) : null;
}

/** The label of a wire value (category, status…), or the value itself. */
export function label(kind: LabelKind, value: string | null | undefined): string {
  if (!value) return "";
  const pair = (kind === "category" ? stationCategories?.[value] : undefined) ?? LABELS[kind]?.[value];
  if (!pair) return value;
  return lang === "zh" ? pair[0] : pair[1];
}

export function labelKeys(kind: LabelKind): string[] {
  if (kind === "category" && stationCategories) return Object.keys(stationCategories);
  return Object.keys(LABELS[kind] ?? {});
}

/** An API error in the user's language. */
export function errorText(error: { message: string; message_zh?: string }): string {
  return lang === "zh" && error.message_zh ? error.message_zh : error.message;
}

export function formatTime(iso: string | null | undefined, withDate = false): string {
  if (!iso) return "";
  const options: Intl.DateTimeFormatOptions = {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  };
  if (withDate) {
    options.year = "numeric";
    options.month = "2-digit";
    options.day = "2-digit";
  }
  return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", options).format(new Date(iso));
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  const rest = s % 60;
  if (m === 0) return `${rest}${t("seconds")}`;
  if (m < 60) return `${m}${t("minutes")}${rest}${t("seconds")}`;
  const h = Math.floor(m / 60);
  return lang === "zh" ? `${h}小时${m % 60}分` : `${h} h ${m % 60} min`;
}
