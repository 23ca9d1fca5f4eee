package demo

// The demo region: Wuhan, with its thirteen real districts and synthetic
// communities named after common street names.

type place struct{ code, zh, en string }

var province = place{"42", "湖北省", "Hubei Province"}
var city = place{"4201", "武汉市", "Wuhan"}

var districts = []place{
	{"420102", "江岸区", "Jiang'an District"},
	{"420103", "江汉区", "Jianghan District"},
	{"420104", "硚口区", "Qiaokou District"},
	{"420105", "汉阳区", "Hanyang District"},
	{"420106", "武昌区", "Wuchang District"},
	{"420107", "青山区", "Qingshan District"},
	{"420111", "洪山区", "Hongshan District"},
	{"420112", "东西湖区", "Dongxihu District"},
	{"420113", "汉南区", "Hannan District"},
	{"420114", "蔡甸区", "Caidian District"},
	{"420115", "江夏区", "Jiangxia District"},
	{"420116", "黄陂区", "Huangpi District"},
	{"420117", "新洲区", "Xinzhou District"},
}

var streets = []struct{ zh, en string }{
	{"解放路", "Jiefang Road"}, {"中山路", "Zhongshan Road"}, {"民主路", "Minzhu Road"}, {"建设路", "Jianshe Road"},
	{"和平街", "Heping Street"}, {"友谊路", "Youyi Road"}, {"光明村", "Guangming Village"}, {"幸福里", "Xingfu Lane"},
	{"长江路", "Changjiang Road"}, {"黄鹤楼", "Huanghelou"}, {"东湖", "Donghu"}, {"珞珈山", "Luojiashan"},
	{"沙湖", "Shahu"}, {"南湖", "Nanhu"}, {"月湖", "Yuehu"}, {"汉水", "Hanshui"},
}

// CommunitiesPerDistrict is fixed so that the region's shape does not
// depend on the number of residents.
const CommunitiesPerDistrict = 8

var surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")

var givenChars = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红梅志文斌辉海波宁鹏飞晨宇浩然欣怡子涵梓轩思雨佳琪俊杰")

// Staff the demo creates, by role: each with a login "<prefix>-<n>" and
// the jurisdiction it is scoped to ("city", a district code, or "community"
// for one worker per community).
var staffPlan = []struct {
	role, prefix, scope string
}{
	{"admin", "admin", "city"},
	{"admin", "admin", "420106"},
	{"commander", "commander", "city"},
	{"epidemiologist", "epidemiologist", "city"},
	{"epidemiologist", "epidemiologist", "420106"},
	{"auditor", "auditor", "city"},
	{"lab_technician", "lab", "city"},
	{"clinician", "clinician", "420106"},
	{"clinician", "clinician", "420102"},
	{"checkpoint", "checkpoint", "420106"},
	{"checkpoint", "checkpoint", "420102"},
	{"community_worker", "community", "community"},
}
