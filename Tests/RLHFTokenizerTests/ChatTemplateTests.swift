import Foundation
import RLHFTokenizer
import Testing
import _RLHFTestSupport

@Suite("Chat templates")
struct ChatTemplateTests {
    static let smolLM2Prompt = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    @Test("ChatML renders the SmolLM2 reference prompts and their ids")
    func chatMLMatchesReference() throws {
        let reference = try SmolLM2Reference.load()
        let tokenizer = try BytePairTokenizer.load(tokenizerJSON: ReferencePaths.reference + "/smollm2-hf/tokenizer.json")
        let jinja = try String(contentsOfFile: ReferencePaths.reference + "/smollm2-hf/chat_template.jinja", encoding: .utf8)
        let template = try #require(ChatTemplate.detect(fromJinja: jinja))
        #expect(template == .chatML(defaultSystemPrompt: Self.smolLM2Prompt))
        #expect(reference.chat_template.count == 2)
        for example in reference.chat_template {
            let rendered = template.render(example.messages, addGenerationPrompt: true)
            #expect(rendered == example.rendered)
            #expect(tokenizer.encode(rendered) == example.ids)
        }
    }

    @Test func chatMLWithoutGenerationPromptOrDefault() {
        let messages = [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello!")]
        #expect(ChatTemplate.chatML(defaultSystemPrompt: nil).render(messages, addGenerationPrompt: false)
            == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n")
        // As the SmolLM2 template: the default system prompt comes with the first message.
        #expect(ChatTemplate.chatML(defaultSystemPrompt: "Be brief.").render([], addGenerationPrompt: true)
            == "<|im_start|>assistant\n")
        #expect(ChatTemplate.chatML(defaultSystemPrompt: nil).endOfTurn == "<|im_end|>")
    }

    @Test func llama3Format() {
        let template = ChatTemplate.llama3(defaultSystemPrompt: "Be brief.")
        #expect(template.render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true) ==
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        let withSystem = [ChatMessage(role: "system", content: "S"), ChatMessage(role: "user", content: "U")]
        #expect(template.render(withSystem, addGenerationPrompt: false) ==
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>")
        #expect(template.endOfTurn == "<|eot_id|>")
        // As Meta's template: contents trimmed, BOS (and the default) only with a first message.
        #expect(template.render([ChatMessage(role: "user", content: "  Hi\n")], addGenerationPrompt: false) ==
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>")
        #expect(template.render([], addGenerationPrompt: true) == "<|start_header_id|>assistant<|end_header_id|>\n\n")
    }

    @Test func detection() {
        // A ChatML template without a default system prompt (Qwen-style expression, not a literal).
        let qwenLike = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
        #expect(ChatTemplate.detect(fromJinja: qwenLike) == .chatML(defaultSystemPrompt: nil))
        let llama = "{{- bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
        #expect(ChatTemplate.detect(fromJinja: llama) == .llama3(defaultSystemPrompt: nil))
        #expect(ChatTemplate.detect(fromJinja: "{{ messages[0]['content'] }}") == nil)
        // Qwen 2.5 style: `\n` escapes inside the literals, the first system literal is an expression.
        let qwen25 = #"""
            {%- if messages[0]['role'] == 'system' %}
                {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
            {%- else %}
                {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You\'re helpful.<|im_end|>\n' }}
            {%- endif %}
            """#
        #expect(ChatTemplate.detect(fromJinja: qwen25) == .chatML(defaultSystemPrompt: "You are Qwen, created by Alibaba Cloud. You're helpful."))
        let llamaWithDefault = "{{ '<|start_header_id|>system<|end_header_id|>\n\nBe kind.<|eot_id|>' }}"
        #expect(ChatTemplate.detect(fromJinja: llamaWithDefault) == .llama3(defaultSystemPrompt: "Be kind."))
        // Llama 3.1+: told from 3.0 by its system turn's "Cutting Knowledge Date"; the date is the
        // `date_string` literal, or the day of rendering where the template asks strftime_now (3.2).
        let llama31 = #"""
            {%- if not date_string is defined %}
                {%- set date_string = "26 Jul 2024" %}
            {%- endif %}
            {{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
            {{- "Cutting Knowledge Date: December 2023\n" }}
            {{- "Today Date: " + date_string + "\n\n" }}
            """#
        #expect(ChatTemplate.detect(fromJinja: llama31) == .llama31(todayDate: "26 Jul 2024"))
        #expect(ChatTemplate.detect(fromJinja: llama31.replacingOccurrences(of: "26 Jul 2024", with: "01 Jan 2030"))
            == .llama31(todayDate: "01 Jan 2030"))
        let llama32 = llama31.replacingOccurrences(of: #"{%- set date_string = "26 Jul 2024" %}"#, with: #"""
            {%- if strftime_now is defined %}
                {%- set date_string = strftime_now("%d %b %Y") %}
            {%- else %}
                {%- set date_string = "26 Jul 2024" %}
            {%- endif %}
            """#)
        #expect(llama32.contains("strftime_now"))
        #expect(ChatTemplate.detect(fromJinja: llama32) == .llama31(todayDate: nil))
    }

    @Test func messagesAreCodable() throws {
        let message = ChatMessage(role: "user", content: "Hi \"there\"")
        let decoded = try JSONDecoder().decode(ChatMessage.self, from: JSONEncoder().encode(message))
        #expect(decoded == message)
    }
}
