// Constants from one source: every constant of include/ftapi.h (#define lines and the FtapiResult
// enum) must have a C# copy with the header's value, and every copy the binding keeps must name a
// header constant. Families and where C# keeps them:
//   FTAPI_OK, FTAPI_ERR_*                      FTAPI.Result.Ok, .Err*        (also FTAPI.ErrReconnecting)
//   FTAPI_INIT_FAIL*, FTAPI_CONNECT_FAIL_*     FTAPI.ErrCode.InitFail*, .ConnectFail*
//   FTAPI_REPLY_*                              FTAPI.ReplyType.*             (also FTAPI.ReplyRateLimited)
//   FTAPI_STATE_*                              FTAPI.ConnState.*
//   FTAPI_RATE_LIMIT_*                         FTAPI.RateLimitMode.*
//   FTAPI_LOG_*                                FTAPI.LogLevel.*
//   FTAPI_GROUP_*                              QotGetUserSecurityGroup.GroupType.GroupType_* (the official enum)
// A header constant of another family fails the test until it is given a home here.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using Futu.OpenApi;
using Futu.OpenApi.Pb;
using NUnit.Framework;

namespace Ftapi.Tests
{
    [TestFixture]
    public class ConstantsTests
    {
        private static readonly Regex Define = new Regex(@"^\s*#\s*define\s+(FTAPI_[A-Z0-9_]+)\s+\(?\s*(-?\d+)\s*\)?\s*$");
        private static readonly Regex EnumLine = new Regex(@"^\s*(FTAPI_[A-Z0-9_]+)\s*=\s*(-?\d+)\s*,?\s*$");

        /// <summary>Top-level FTAPI constants that copy a header constant.</summary>
        private static readonly Dictionary<string, string> Aliases = new Dictionary<string, string>
        {
            { "ReplyRateLimited", "FTAPI_REPLY_RATE_LIMITED" },
            { "ErrReconnecting", "FTAPI_ERR_RECONNECTING" },
        };

        private static readonly Type[] Holders =
        {
            typeof(FTAPI.Result), typeof(FTAPI.ErrCode), typeof(FTAPI.ReplyType), typeof(FTAPI.ConnState),
            typeof(FTAPI.RateLimitMode), typeof(FTAPI.LogLevel),
        };

        public static Dictionary<string, long> Parse(string text)
        {
            var found = new Dictionary<string, long>();
            foreach (string line in text.Split('\n'))
            {
                Match m = Define.Match(line.TrimEnd('\r'));
                if (!m.Success) m = EnumLine.Match(line.TrimEnd('\r'));
                if (!m.Success) continue;
                Assert.IsFalse(found.ContainsKey(m.Groups[1].Value), m.Groups[1].Value + " twice in ftapi.h");
                found[m.Groups[1].Value] = long.Parse(m.Groups[2].Value);
            }
            return found;
        }

        private static string HeaderPath()
        {
            string p = Environment.GetEnvironmentVariable("FTAPI_HEADER");
            if (string.IsNullOrEmpty(p))
                p = Path.Combine(Path.GetDirectoryName(typeof(ConstantsTests).Assembly.Location), "..", "..", "include", "ftapi.h");
            Assert.IsTrue(File.Exists(p), "include/ftapi.h not found at " + p + " (set FTAPI_HEADER)");
            return p;
        }

        private static string Pascal(string upper)
        {
            return string.Concat(upper.Split('_').Where(w => w.Length > 0)
                .Select(w => w.Substring(0, 1) + w.Substring(1).ToLowerInvariant()));
        }

        /// <summary>Where C# keeps a header constant: the holder type and the field name.</summary>
        private static KeyValuePair<Type, string>? Home(string name)
        {
            string rest = name.Substring("FTAPI_".Length);
            if (name == "FTAPI_OK") return new KeyValuePair<Type, string>(typeof(FTAPI.Result), "Ok");
            if (rest.StartsWith("ERR_")) return new KeyValuePair<Type, string>(typeof(FTAPI.Result), Pascal(rest));
            if (rest == "INIT_FAIL" || rest.StartsWith("INIT_FAIL_") || rest.StartsWith("CONNECT_FAIL_"))
                return new KeyValuePair<Type, string>(typeof(FTAPI.ErrCode), Pascal(rest));
            if (rest.StartsWith("REPLY_")) return new KeyValuePair<Type, string>(typeof(FTAPI.ReplyType), Pascal(rest.Substring(6)));
            if (rest.StartsWith("STATE_")) return new KeyValuePair<Type, string>(typeof(FTAPI.ConnState), Pascal(rest.Substring(6)));
            if (rest.StartsWith("RATE_LIMIT_")) return new KeyValuePair<Type, string>(typeof(FTAPI.RateLimitMode), Pascal(rest.Substring(11)));
            if (rest.StartsWith("LOG_")) return new KeyValuePair<Type, string>(typeof(FTAPI.LogLevel), Pascal(rest.Substring(4)));
            if (rest.StartsWith("GROUP_"))
                return new KeyValuePair<Type, string>(typeof(QotGetUserSecurityGroup.GroupType), "GroupType_" + Pascal(rest.Substring(6)));
            return null;
        }

        private static long? CSharpValue(Type holder, string field)
        {
            if (holder.IsEnum)
            {
                if (!Enum.IsDefined(holder, field)) return null;
                return Convert.ToInt64(Enum.Parse(holder, field));
            }
            FieldInfo f = holder.GetField(field, BindingFlags.Public | BindingFlags.Static);
            if (f == null || !f.IsLiteral) return null;
            return Convert.ToInt64(f.GetRawConstantValue());
        }

        [Test]
        public void ParserReadsDefinesAndEnumLines()
        {
            var got = Parse("#define FTAPI_A 100\n#define FTAPI_B -300\r\n  FTAPI_C = 15,\n#define FTAPI_H\n  FTAPI_D = 0\n// FTAPI_E = 1\n");
            CollectionAssert.AreEquivalent(new Dictionary<string, long> { { "FTAPI_A", 100 }, { "FTAPI_B", -300 }, { "FTAPI_C", 15 }, { "FTAPI_D", 0 } }, got);
            Assert.AreEqual("BadCaFile", Pascal("BAD_CA_FILE"));
        }

        [Test]
        public void EveryHeaderConstantHasItsCopyWithTheHeadersValue()
        {
            var header = Parse(File.ReadAllText(HeaderPath()));
            // The parse must see every family, or this test would pass on nothing.
            foreach (string n in new[] { "FTAPI_OK", "FTAPI_ERR_BAD_CA_FILE", "FTAPI_INIT_FAIL", "FTAPI_CONNECT_FAIL_RECV", "FTAPI_REPLY_INVALID",
                                         "FTAPI_GROUP_ALL", "FTAPI_STATE_RECONNECTING", "FTAPI_RATE_LIMIT_WAIT", "FTAPI_LOG_TRACE" })
                Assert.IsTrue(header.ContainsKey(n), "the parser missed " + n);
            var problems = new List<string>();
            foreach (var kv in header.OrderBy(k => k.Key))
            {
                var home = Home(kv.Key);
                if (home == null) { problems.Add(kv.Key + ": a header family with no C# home (decide one in tests/Constants.cs)"); continue; }
                long? v = CSharpValue(home.Value.Key, home.Value.Value);
                string where = home.Value.Key.FullName.Replace('+', '.') + "." + home.Value.Value;
                if (v == null) problems.Add(kv.Key + " = " + kv.Value + ": " + where + " is missing");
                else if (v.Value != kv.Value) problems.Add(kv.Key + " = " + kv.Value + ": " + where + " is " + v.Value);
            }
            foreach (var a in Aliases)
            {
                long? v = CSharpValue(typeof(FTAPI), a.Key);
                if (!header.ContainsKey(a.Value)) problems.Add("FTAPI." + a.Key + " copies " + a.Value + ", which the header no longer has");
                else if (v != header[a.Value]) problems.Add("FTAPI." + a.Key + " is " + v + ", " + a.Value + " is " + header[a.Value]);
            }
            Assert.IsEmpty(problems, "constants differ from include/ftapi.h:\n  " + string.Join("\n  ", problems));
        }

        [Test]
        public void EveryCopyTheBindingKeepsNamesAHeaderConstant()
        {
            var header = Parse(File.ReadAllText(HeaderPath()));
            var homes = new HashSet<string>(header.Keys.Select(Home).Where(h => h != null)
                .Select(h => h.Value.Key.FullName + "." + h.Value.Value));
            var strays = new List<string>();
            foreach (Type t in Holders)
                foreach (FieldInfo f in t.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
                    if (!homes.Contains(t.FullName + "." + f.Name)) strays.Add(t.FullName.Replace('+', '.') + "." + f.Name);
            foreach (FieldInfo f in typeof(FTAPI).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
                if (!Aliases.ContainsKey(f.Name)) strays.Add("FTAPI." + f.Name);
            foreach (Type t in typeof(FTAPI).GetNestedTypes(BindingFlags.Public))
                Assert.Contains(t, Holders, "a public constants class not checked here: " + t.Name);
            Assert.IsEmpty(strays, "C# constants with no header counterpart:\n  " + string.Join("\n  ", strays));
        }

        [Test]
        public void ResultMessagesKnowEveryResultCode()
        {
            foreach (var kv in Parse(File.ReadAllText(HeaderPath())))
                if (kv.Key == "FTAPI_OK" || kv.Key.StartsWith("FTAPI_ERR_"))
                    Assert.AreNotEqual("unknown result code", FTAPI.ResultMessage((int)kv.Value), kv.Key);
        }
    }
}
