package com.futu.openapi;

import static org.junit.Assert.*;

import com.futu.openapi.pb.QotGetUserSecurityGroup;
import java.io.File;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.*;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.Test;

/**
 * Java's copies of the C ABI's constants against include/ftapi.h (FTAPI_TEST_HEADER, set by
 * run-tests.sh), read with a regex over its {@code #define} and enum lines.
 *
 * <p>Java names drop the {@code FTAPI_} prefix: {@code FTAPI_STATE_READY} is
 * {@code FTAPI_Conn.STATE_READY}. Java carries these families, each complete: the log levels
 * ({@code FTAPI.LOG_*}), the connection states, rate-limit modes, reply types and
 * error-code parts ({@code FTAPI_Conn.STATE_* / RATE_LIMIT_* / REPLY_* / INIT_FAIL* /
 * CONNECT_FAIL_*}); the group types are the protobuf enum
 * {@code QotGetUserSecurityGroup.GroupType} (GroupType_Custom = FTAPI_GROUP_CUSTOM, ...).
 * The call results ({@code enum FtapiResult}: FTAPI_OK, FTAPI_ERR_*) are not carried: no Java
 * call returns one (they return false or 0, or throw, as the official SDK does). A family
 * Java starts to carry must be carried whole, and a header family this test does not know
 * fails it until someone decides.
 */
public class ConstantsTest {
    /** Header families, by the name after FTAPI_; longest prefix first. */
    static final String[] FAMILIES = {"INIT_FAIL", "CONNECT_FAIL_", "REPLY_", "GROUP_", "STATE_", "RATE_LIMIT_", "LOG_"};
    /** The families Java carries (the docs say so; see the class comment). */
    static final Set<String> CARRIED = new TreeSet<>(Arrays.asList(FAMILIES));
    /** The enum's family: FTAPI_OK and FTAPI_ERR_*. */
    static final String RESULTS = "FtapiResult";
    /** The classes that hold Java's int copies. */
    static final Class<?>[] HOLDERS = {FTAPI.class, FTAPI_Conn.class};

    static final Pattern DEFINE = Pattern.compile("^\\s*#define\\s+(FTAPI_[A-Z0-9_]+)\\s+\\(?\\s*(-?\\d+)\\s*\\)?\\s*(?://.*|/\\*.*)?$");
    /** Any value-carrying #define of ours, to catch one the number pattern cannot read. */
    static final Pattern DEFINE_ANY = Pattern.compile("^\\s*#define\\s+(FTAPI_[A-Z0-9_]+)\\s+\\S");
    /** {@code enum Name} opening a body (not {@code typedef enum Name Name;}). */
    static final Pattern ENUM_START = Pattern.compile("^\\s*enum\\s+(\\w+)\\s*\\{?\\s*$");
    static final Pattern ENUM_MEMBER = Pattern.compile("^\\s*(FTAPI_[A-Z0-9_]+)\\s*=\\s*(-?\\d+)\\s*,?\\s*(?://.*)?$");
    static final Pattern ENUM_ANY = Pattern.compile("^\\s*(FTAPI_[A-Z0-9_]+)\\s*[=,]");

    /** name (without FTAPI_) -> value, and name -> family, from the header. */
    static final class Header {
        final Map<String, Long> values = new TreeMap<>();
        final Map<String, String> family = new TreeMap<>();
        /** Header constants this test cannot place, as messages. */
        final List<String> unknown = new ArrayList<>();
    }

    static Header parse(List<String> lines) {
        Header h = new Header();
        String inEnum = null;
        for (String line : lines) {
            Matcher m;
            if ((m = ENUM_START.matcher(line)).find()) { inEnum = m.group(1); continue; }
            if (inEnum != null && line.contains("}")) { inEnum = null; continue; }
            String name;
            long value;
            String fam;
            if ((m = DEFINE.matcher(line)).matches()) {
                name = m.group(1).substring("FTAPI_".length());
                value = Long.parseLong(m.group(2));
                fam = null;
                for (String f : FAMILIES) if (name.startsWith(f)) { fam = f; break; }
                if (fam == null) {
                    h.unknown.add("header constant " + m.group(1) + " is in no family this test knows: decide whether Java carries it");
                    continue;
                }
            } else if (inEnum != null && (m = ENUM_MEMBER.matcher(line)).matches()) {
                name = m.group(1).substring("FTAPI_".length());
                value = Long.parseLong(m.group(2));
                fam = inEnum;
            } else {
                if ((m = DEFINE_ANY.matcher(line)).find() || (inEnum != null && (m = ENUM_ANY.matcher(line)).find()))
                    h.unknown.add("header constant " + m.group(1) + " has a value this test cannot read: " + line.trim());
                continue;
            }
            assertNull("defined twice in the header: FTAPI_" + name, h.values.put(name, value));
            h.family.put(name, fam);
        }
        return h;
    }

    static List<String> headerLines() throws Exception {
        String path = System.getenv("FTAPI_TEST_HEADER");
        assertNotNull("FTAPI_TEST_HEADER is not set (run-tests.sh points it at include/ftapi.h)", path);
        return Files.readAllLines(new File(path).toPath(), StandardCharsets.UTF_8);
    }

    /** Java's public static final int constants of the holder classes, by name. */
    static Map<String, Long> javaInts() throws Exception {
        Map<String, Long> out = new TreeMap<>();
        for (Class<?> c : HOLDERS) {
            for (Field f : c.getDeclaredFields()) {
                int mod = f.getModifiers();
                if (!Modifier.isPublic(mod) || !Modifier.isStatic(mod) || !Modifier.isFinal(mod) || f.getType() != int.class) continue;
                assertNull("two Java copies of " + f.getName(), out.put(f.getName(), (long) f.getInt(null)));
            }
        }
        return out;
    }

    /** The protobuf name of a group type: GROUP_CUSTOM -> GroupType_Custom. */
    static String groupTypeName(String name) {
        String rest = name.substring("GROUP_".length());
        return "GroupType_" + rest.charAt(0) + rest.substring(1).toLowerCase(Locale.ROOT);
    }

    /** Every difference between the header and Java, one line each; empty when they agree. */
    static List<String> differences(Header h, Map<String, Long> java) {
        List<String> diffs = new ArrayList<>();
        diffs.addAll(h.unknown);
        // Families Java carries: the declared ones, and any family Java has at least one copy of.
        Set<String> carried = new TreeSet<>(CARRIED);
        for (String name : java.keySet()) if (h.family.containsKey(name)) carried.add(h.family.get(name));
        for (Map.Entry<String, Long> e : java.entrySet()) {
            Long want = h.values.get(e.getKey());
            if (want == null) diffs.add("Java has " + e.getKey() + " = " + e.getValue() + ", the header has no FTAPI_" + e.getKey());
            else if (!want.equals(e.getValue())) diffs.add("Java has " + e.getKey() + " = " + e.getValue() + ", the header FTAPI_" + e.getKey() + " = " + want);
        }
        for (Map.Entry<String, Long> e : h.values.entrySet()) {
            String name = e.getKey(), fam = h.family.get(name);
            if (!carried.contains(fam)) continue;
            if (fam.equals("GROUP_")) {
                QotGetUserSecurityGroup.GroupType t;
                try { t = QotGetUserSecurityGroup.GroupType.valueOf(groupTypeName(name)); }
                catch (IllegalArgumentException x) { diffs.add("FTAPI_" + name + " has no " + groupTypeName(name)); continue; }
                if (t.getNumber() != e.getValue()) diffs.add(groupTypeName(name) + " = " + t.getNumber() + ", the header FTAPI_" + name + " = " + e.getValue());
            } else if (!java.containsKey(name)) {
                diffs.add("Java carries the " + fam + " family but lacks " + name + " (FTAPI_" + name + " = " + e.getValue() + ")");
            }
        }
        return diffs;
    }

    @Test public void javaConstantsMatchTheHeader() throws Exception {
        Header h = parse(headerLines());
        // The regex must see the header at all: a few values that have been fixed for good.
        assertEquals(Long.valueOf(100), h.values.get("INIT_FAIL"));
        assertEquals(Long.valueOf(2), h.values.get("STATE_READY"));
        assertEquals(Long.valueOf(-200), h.values.get("REPLY_DISCONNECT"));
        assertEquals(Long.valueOf(15), h.values.get("ERR_BAD_CA_FILE"));
        assertEquals(RESULTS, h.family.get("OK"));
        for (String f : FAMILIES) assertTrue("the header has no " + f + " constant", h.family.containsValue(f));
        List<String> diffs = differences(h, javaInts());
        assertTrue(String.join("\n", diffs), diffs.isEmpty());
    }

    @Test public void resultCodesAreNotCarried() throws Exception {
        // Documented choice: no Java call returns an FtapiResult. If that changes, carrying one
        // of them makes the whole family required (see differences()).
        Map<String, Long> java = javaInts();
        for (String name : java.keySet()) assertFalse(name, name.equals("OK") || name.startsWith("ERR_"));
    }

    /** The checker itself: each kind of difference is reported. */
    @Test public void theCheckerCatchesEachKindOfDifference() throws Exception {
        List<String> header = Arrays.asList(
            "#define FTAPI_STATE_READY 2",
            "#define FTAPI_STATE_NEW 9",
            "#define FTAPI_LOG_OFF 0",
            "#define FTAPI_GROUP_CUSTOM 1",
            "#define FTAPI_GROUP_ODD 7",
            "#define FTAPI_WIDGET_SIZE 3",
            "#define FTAPI_LOG_MASK (1 << 3)",
            "enum FtapiResult",
            " {",
            "  FTAPI_OK = 0,",
            "  FTAPI_ERR_BAD_CA_FILE = 15,",
            "};");
        Header h = parse(header);
        assertEquals(Long.valueOf(15), h.values.get("ERR_BAD_CA_FILE"));
        assertEquals(RESULTS, h.family.get("ERR_BAD_CA_FILE"));
        Map<String, Long> java = new TreeMap<>();
        java.put("STATE_READY", 3L);       // wrong value
        java.put("LOG_OFF", 0L);           // fine
        java.put("LOG_EXTRA", 6L);         // not in the header
        java.put("ERR_BAD_CA_FILE", 15L);  // makes the results a carried family, so OK is missing
        String all = String.join("\n", differences(h, java));
        assertTrue(all, all.contains("STATE_READY = 3, the header FTAPI_STATE_READY = 2"));
        assertTrue(all, all.contains("lacks STATE_NEW"));
        assertTrue(all, all.contains("LOG_EXTRA = 6, the header has no"));
        assertTrue(all, all.contains("FTAPI_GROUP_ODD has no GroupType_Odd"));
        assertTrue(all, all.contains("FTAPI_WIDGET_SIZE is in no family"));
        assertTrue(all, all.contains("lacks OK"));
        assertTrue(all, all.contains("FTAPI_LOG_MASK has a value this test cannot read"));
        assertFalse(all, all.contains("LOG_OFF"));
        assertFalse(all, all.contains("GROUP_CUSTOM"));
        assertEquals(all, 7, differences(h, java).size());
    }
}
