"""Word lists the sample-data generator draws from (names, titles, departments ...).

Plain data only; kept apart from generator.py so the logic stays readable.
"""
from __future__ import annotations

# Common surnames (Hunan-flavoured weights: 刘 李 王 陈 张 谭 曾 彭 罗 ...).
SURNAME_LIST = list("刘李王陈张谭曾彭罗周黄杨吴赵肖邓唐胡朱易贺袁梁谢龙廖") + ["欧阳"] + list(
    "徐孙高林何郭马宋郑韩冯董程曹许傅沈吕苏卢蒋蔡丁魏叶余潘夏钟汪田任姜范方石姚邹熊金陆孔白崔康毛邱秦江段雷汤尹黎万伍颜戴文"
)
_HEAD_WEIGHTS = [9, 9, 8, 8, 8, 5, 5, 5, 5, 5, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 1]
SURNAME_WEIGHTS = _HEAD_WEIGHTS + [1] * (len(SURNAME_LIST) - len(_HEAD_WEIGHTS))
assert len(set(SURNAME_LIST)) == len(SURNAME_LIST)

GIVEN_CHARS = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红志文辉玲兰萍林斌波宇浩鹏俊峰燕梅琴云莲海亮春利新德福生龙成清飞凤金晓子嘉欣怡思雨婷雪丹慧晶湘益阳松柏"
)

# Mobile prefixes 13x / 15x / 18x.
PHONE_PREFIXES = [130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
                  180, 181, 182, 183, 184, 185, 186, 187, 188, 189]

# Functional departments: (code suffix, name suffix).
DEPARTMENT_KINDS = [
    ("GA", "公安局"), ("SF", "司法局"), ("ZJ", "住建局"), ("CG", "城管局"), ("RS", "人社局"),
    ("ZR", "自然资源局"), ("SJ", "市场监管局"), ("MZ", "民政局"), ("XF", "信访局"),
]
_DK = {k: i for i, (k, _) in enumerate(DEPARTMENT_KINDS)}

# code, name_zh, name_en, time_limit_hours, weight (urban), weight (rural), department kind
CATEGORIES = [
    ("neighbour", "邻里矛盾", "Neighbour dispute", 72, 0.18, 0.22, "SF"),
    ("sewer", "下水道堵塞", "Sewer blockage", 24, 0.18, 0.10, "CG"),
    ("property", "物业纠纷", "Property management", 120, 0.20, 0.06, "ZJ"),
    ("family", "婚姻家庭", "Marriage and family", 168, 0.06, 0.08, "MZ"),
    ("land_forest", "土地山林", "Land and forest", 360, 0.01, 0.10, "ZR"),
    ("labour", "劳资纠纷", "Labour and wages", 240, 0.05, 0.05, "RS"),
    ("telecom_fraud", "电信诈骗", "Telecom fraud", 48, 0.05, 0.035, "GA"),
    ("public_order", "治安问题", "Public order", 24, 0.06, 0.045, "GA"),
    ("sanitation", "环境卫生", "Environment and sanitation", 48, 0.12, 0.135, "CG"),
    ("consumer", "消费纠纷", "Consumer dispute", 120, 0.05, 0.035, "SJ"),
    ("medical", "医疗纠纷", "Medical dispute", 240, 0.02, 0.02, "SF"),
    ("demolition", "征地拆迁", "Land acquisition and demolition", 720, 0.005, 0.015, "ZR"),
    ("traffic", "道路交通", "Road and traffic", 72, 0.03, 0.03, "GA"),
    ("other", "其他", "Other", 168, 0.035, 0.03, "XF"),
]
CATEGORY_DEPT_KIND = [_DK[c[6]] for c in CATEGORIES]

# Title templates per category: {v} = village / community short name.
TITLES = {
    "neighbour": ["{v}邻里因排水沟堵塞发生纠纷", "{v}两户村民因宅基地界址发生口角", "{v}邻居因噪音扰民产生矛盾",
                  "{v}邻里因占道堆放杂物发生争执"],
    "sewer": ["{v}居民楼下水道堵塞污水外溢", "{v}下水管道堵塞影响通行", "{v}化粪池满溢需清掏"],
    "property": ["{v}业主与物业公司因物业费发生纠纷", "{v}小区电梯长期故障业主投诉物业", "{v}小区停车管理引发业主不满"],
    "family": ["{v}夫妻因家庭琐事发生争吵", "{v}子女赡养老人问题引发家庭矛盾", "{v}兄弟因分家析产发生纠纷"],
    "land_forest": ["{v}村民因山林权属发生争议", "{v}承包地边界纠纷", "{v}村民因祖坟山界发生争执"],
    "labour": ["{v}务工人员反映工程款被拖欠", "{v}工人讨要工资引发纠纷", "{v}企业员工反映未签劳动合同"],
    "telecom_fraud": ["{v}群众疑似遭遇电信诈骗", "{v}老人接到冒充公检法诈骗电话", "{v}居民网购退款被骗"],
    "public_order": ["{v}夜间有人聚集酗酒滋事", "{v}发现可疑人员在小区徘徊", "{v}群众反映有人聚众赌博"],
    "sanitation": ["{v}垃圾堆放未及时清运", "{v}沟渠淤积产生异味", "{v}养殖污水直排影响环境"],
    "consumer": ["{v}居民反映商家售卖过期食品", "{v}消费者与商户因退款发生纠纷", "{v}预付卡商家关门无法退费"],
    "medical": ["{v}患者家属与卫生院因诊疗费用发生纠纷", "{v}群众反映医疗损害赔偿问题"],
    "demolition": ["{v}村民对征地补偿标准有异议", "{v}拆迁安置房分配引发矛盾"],
    "traffic": ["{v}路段路灯损坏影响夜间出行", "{v}村道塌方存在安全隐患", "{v}两车刮擦引发纠纷"],
    "other": ["{v}群众反映其他民生诉求", "{v}群众咨询社保政策问题", "{v}群众反映饮水不畅"],
}

# Description by source.
DESCRIPTIONS = {
    "patrol": "网格员巡查走访中发现该问题，现场了解情况后录入平台。",
    "hotline": "群众通过12345热线反映，平台转办至所在网格核实处理。",
    "walk_in": "当事人到村（社区）综治中心来访反映，工作人员登记受理。",
    "online": "群众通过网格化服务管理平台网上反映，附有现场照片。",
    "meeting": "在屋场会上群众提出，“民事民议”现场登记，会后跟踪办理。",
    "petition": "当事人到信访窗口反映，转网格核实并纳入化解台账。",
    "other": "通过其他渠道反映，已转所在网格核实。",
}

# A few awkward texts (quotes, commas, newlines, emoji) to exercise CSV quoting.
AWKWARD_TITLES = [
    '{v}居民反映"僵尸车"长期占道, 影响通行',
    "{v}群众称“水沟归他管”，拒不清理",
    '{v}业主群里说"物业,不作为"\n要求答复',
]
AWKWARD_DESCRIPTIONS = [
    '当事人称："他说过，水沟归他管"，\n要求"立即"处理。',
    "第一行，逗号, 还有\"引号\"\r\n第二行：已电话回访 👍",
    'Reporter said "it\'s been 3 weeks, nobody came"; translated by grid worker.',
]

NOTES = ["已电话回访当事人", "当事人情绪稳定", "已拍照取证", "已约定调解时间", "已联系相关部门", "群众表示满意"]
RETURN_NOTES = ["不属于本部门职责，退回重新分流", "材料不全，退回补充", "地址有误，退回核实"]
SUPERVISION_NOTES = {
    "normal": ["超期未办结，请加快办理", "请于期限内反馈办理结果"],
    "yellow": ["黄牌督办：多次催办仍未办结", "黄牌督办：请主要负责人过问"],
    "red": ["红牌督办：严重超期，纳入通报", "红牌督办：限期办结并书面说明"],
}

ESTATES = ["幸福小区", "锦绣花园", "滨江苑", "阳光小区", "金色家园", "翰林苑", "和谐小区", "梅苑小区",
           "资江花园", "安置小区", "新城佳苑", "书香门第", "紫金苑", "桂花园", "福源小区", "上梅新村"]

TEAM_ACTIVITY_NOTES = {
    "patrol": "夜间治安巡逻", "anti_fraud": "入户宣讲反诈知识", "mediation": "协助调解邻里纠纷",
    "publicity": "政策宣传", "epidemic": "协助疫情防控值守", "cleanup": "清扫公共区域", "care": "走访慰问独居老人",
    "other": "志愿服务",
}
FOCUS_TAGS = ["patrol", "anti_fraud", "mediation", "publicity", "epidemic", "cleanup", "care"]
FOCUS_PROBS = [0.62, 0.40, 0.35, 0.35, 0.20, 0.30, 0.35]

# Louxing district organs (区直单位) for the clean-governance units: 71 names.
LOUXING_ORGANS = [
    "区委办公室", "区人大常委会办公室", "区政府办公室", "区政协办公室", "区纪委监委机关", "区委组织部", "区委宣传部",
    "区委统战部", "区委政法委", "区委编办", "区委巡察办", "区委党校", "区委网信办", "区直机关工委", "区总工会",
    "团区委", "区妇联", "区科协", "区工商联", "区残联", "区法院", "区检察院", "区发展和改革局", "区教育局",
    "区科技和工业信息化局", "区公安分局", "区民政局", "区司法局", "区财政局", "区人力资源和社会保障局",
    "区自然资源分局", "区住房和城乡建设局", "区交通运输局", "区水利局", "区农业农村局", "区商务局",
    "区文化旅游广电体育局", "区卫生健康局", "区退役军人事务局", "区应急管理局", "区审计局", "区市场监督管理局",
    "区统计局", "区医疗保障局", "区城市管理和综合执法局", "区林业局", "区信访局", "区政务服务中心", "区档案馆",
    "区融媒体中心", "区机关事务服务中心", "区供销社", "区红十字会", "区文联", "区社保中心", "区住房公积金管理部",
    "区税务局", "区生态环境分局", "区消防救援大队", "区国资中心", "区城投公司", "区农业综合执法大队",
    "区产业开发区管委会", "区征收事务中心", "区不动产登记中心", "区疾控中心", "区乡村振兴服务中心",
    "区网格化服务管理中心", "区12345热线服务中心", "区公共资源交易中心", "区人武部",
]
assert len(LOUXING_ORGANS) == 71 and len(set(LOUXING_ORGANS)) == 71

# Duplicates (sample_data/injection.py): the same matter reported again, in other words.  Each pair is swapped
# (either way) now and then; a prefix or a suffix is added; a hotline re-call says so.
DUP_SYNONYMS = [("发生", "产生"), ("纠纷", "矛盾"), ("居民", "群众"), ("反映", "投诉"), ("村民", "居民"),
                ("引发", "造成"), ("问题", "情况"), ("影响", "妨碍"), ("长期", "一直"), ("未及时", "没有及时"),
                ("群众", "市民"), ("因", "由于"), ("工资", "工钱"), ("被拖欠", "被拖欠至今"), ("遭遇", "遇到"),
                ("现场", "当场"), ("核实", "查实"), ("处理", "解决"), ("平台", "系统"), ("录入", "上报")]
DUP_PREFIXES = ["", "", "", "再次反映：", "又有群众反映", "有人反映", "紧急："]
DUP_SUFFIXES = ["", "", "，请尽快处理", "，至今未解决", "，情况属实", "，希望尽快解决"]
RECALL_SUFFIXES = ["（再次来电）", "，此前已来电反映", "（重复来电）", "，第二次来电"]
DUP_DESC_ADDITIONS = ["", "", "反映人称问题仍未解决。", "当事人情绪较为激动。", "附近住户也有同样反映。",
                      "请相关部门尽快到现场查看。"]
NOISE_TITLES = ["{v}邻居因噪音扰民产生矛盾", "{v}夜间装修噪音扰民引发纠纷", "{v}广场舞音响声音过大居民投诉",
                "{v}楼上住户噪音扰民邻里争执"]
