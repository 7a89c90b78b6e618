"""Chinese names for the generated sample: streets, communities, compounds, people, firms.

Word lists are plain tuples; every function draws from the caller's seeded generator so
the sample stays deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_STREET_WORDS = (
    "坞城", "龙城", "黄陵", "营盘", "北营", "平阳", "小店", "学府", "长风", "滨河", "亲贤",
    "许坦", "体育", "并州", "晋阳", "太榆", "真武", "王村", "北格", "嘉节", "东岗", "双塔",
    "迎泽", "桃园", "柳巷", "青年", "康宁", "文源", "锦绣", "星河", "和平", "建设", "胜利",
    "新华", "朝阳", "汾东", "南堰", "大营盘", "刘家堡", "西温庄",
)  # fmt: skip
_COMMUNITY_WORDS = (
    "学府", "坞城南路", "太行路", "平阳路", "双塔南路", "龙城大街", "北营", "黄陵", "亲贤",
    "许坦东街", "长治路", "体育路", "南内环", "并州南路", "康宁街", "真武路", "东岗路",
    "滨河东路", "南中环", "通达街", "学苑", "师范街", "大昌", "红寺", "杨家堡", "小店",
    "嘉节", "王村南街", "晋阳街", "东峰路", "昌盛", "望景", "府东", "农科", "龙堡", "武宿",
    "唐槐", "经园", "坞城东路", "黄陵路",
)  # fmt: skip
_COMPOUND_WORDS = (
    "阳光", "和平", "金色", "碧桂", "龙湖", "锦绣", "幸福", "康乐", "丽华", "怡景", "紫园",
    "翠微", "滨河", "御景", "万科", "富力", "恒大", "保利", "绿地", "星河", "长风", "学府",
    "教育", "电力", "铁路", "煤炭", "化工", "邮电", "财政", "水利", "师范", "农科", "气象",
    "电建", "机电", "华宇", "汇丰", "融创", "金地", "并州", "晋阳", "汾河", "龙城", "桃源",
    "馨园", "青城", "泰和", "世纪", "东方", "新星",
)  # fmt: skip
_COMPOUND_SUFFIXES = ("小区", "苑", "家园", "花园", "新村", "公寓", "嘉园", "雅居")
_COMPANY_WORDS = (
    "锦华", "龙城", "万科", "碧桂园", "绿城", "保利", "华润", "金地", "晋阳", "并州", "汾河",
    "中海", "招商", "建投", "三晋", "富力", "融创", "龙湖", "世纪", "华宇", "恒泰", "安居",
)  # fmt: skip
_COMPANY_FORMS = ("物业服务有限公司", "物业管理有限公司")
_COMPANY_PLACES = ("山西", "太原市", "太原")
_SURNAMES = tuple(
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋"
    "蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟"
)
_GIVEN = (
    "建国", "秀英", "桂兰", "志强", "丽", "敏", "军", "伟", "芳", "娟", "红梅", "海燕",
    "玉兰", "春生", "学文", "建军", "淑珍", "国庆", "晓东", "文华", "秀兰", "卫东", "丽萍",
    "建华", "凤英", "永刚", "小红", "俊", "霞", "明", "爱华", "金凤", "德胜", "宏伟", "静",
    "磊", "鹏", "燕", "慧", "忠",
)  # fmt: skip
_PHONE_PREFIXES = ("135", "136", "137", "138", "139", "150", "151", "158", "186", "188", "189")


def names_from_words(
    words: tuple[str, ...], suffixes: tuple[str, ...], n: int, rng: np.random.Generator
) -> list[str]:
    """Return ``n`` names word+suffix, distinct while the combinations last."""
    space = len(words) * len(suffixes)
    idx = np.concatenate([rng.permutation(space) for _ in range(n // space + 1)])[:n]
    # after the combinations run out, later rounds get a phase number (二期, 三期, ...)
    return [
        words[k // len(suffixes)] + suffixes[k % len(suffixes)] + phase_label(r // space)
        for r, k in enumerate(idx)
    ]


def phase_label(n: int) -> str:
    """Return '' for 0 and a phase label (二期, 三期, ..., 12期) otherwise."""
    if n == 0:
        return ""
    digits = "一二三四五六七八九十"
    return f"{digits[n] if n < len(digits) else n + 1}期"


def street_names(n: int) -> list[str]:
    """Return ``n`` street (街道) names, numbered once the word list runs out."""
    k_words = len(_STREET_WORDS)
    return [
        _STREET_WORDS[k % k_words] + ("" if k < k_words else str(k // k_words + 1)) + "街道"
        for k in range(n)
    ]


def community_names(n: int, rng: np.random.Generator) -> list[str]:
    """Return ``n`` community (社区) names."""
    return names_from_words(_COMMUNITY_WORDS, ("社区",), n, rng)


def compound_names(n: int, rng: np.random.Generator) -> list[str]:
    """Return ``n`` compound (小区) names such as 阳光家园, 电力小区, 御景苑."""
    return names_from_words(_COMPOUND_WORDS, _COMPOUND_SUFFIXES, n, rng)


def person_names(n: int, rng: np.random.Generator) -> list[str]:
    """Return ``n`` personal names (surname + given name)."""
    surnames = np.asarray(_SURNAMES)[rng.integers(len(_SURNAMES), size=n)]
    given = np.asarray(_GIVEN)[rng.integers(len(_GIVEN), size=n)]
    return list(np.char.add(surnames, given))


def phone_numbers(n: int, rng: np.random.Generator) -> list[str]:
    """Return ``n`` fake 11-digit mobile numbers (1xx prefix + 8 random digits)."""
    prefixes = np.asarray(_PHONE_PREFIXES)[rng.integers(len(_PHONE_PREFIXES), size=n)]
    numbers = pd.Series(rng.integers(0, 10**8, size=n)).astype(str).str.zfill(8)
    return list(np.char.add(prefixes, numbers.to_numpy().astype(str)))


def company_names(n: int, rng: np.random.Generator) -> list[str]:
    """Return ``n`` property company names such as 山西锦华物业服务有限公司."""
    words = rng.permutation(len(_COMPANY_WORDS))
    names = []
    for k in range(n):
        word = _COMPANY_WORDS[int(words[k % len(words)])]
        place = _COMPANY_PLACES[int(rng.integers(len(_COMPANY_PLACES)))]
        form = _COMPANY_FORMS[int(rng.integers(len(_COMPANY_FORMS)))]
        names.append(f"{place}{word}{'' if k < len(words) else k // len(words) + 1}{form}")
    return names
